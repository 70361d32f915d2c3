"""The server's refusals in the user's language: Turkish when the request asks for it.

Every refusal a person can meet through the panel is written in English where it happens
(``web.HTTPBadRequest(text=...)``, ``CustomerError(...)``, Asterisk's refusals wrapped as 502).
The panel says which language its user picked in ``Accept-Language`` (web/src/api.ts); the
middleware ``refusals_in_the_users_language`` rewrites the plain-text body of a refusal (4xx,
5xx) into Turkish when the request prefers Turkish and the text is in ``CATALOGUE``. Anything
else passes unchanged: successful answers, JSON bodies, a text no entry matches (English stays
the default, and such a text is logged once at debug so that it can be added).

An entry is an English template and its Turkish. ``{name}`` in the English matches the
values written into the text where it was raised (a caller's name, a queue, what was typed),
and the Turkish puts each value back where its own ``{name}`` stands, verbatim: a value is
attacker-controlled text, so it is matched by a regular expression and copied as it is, never
formatted, evaluated or searched for placeholders itself. ``{name:kind}`` says what a value
may look like (``KINDS``): at most one value per entry is free text, the others are bounded,
so that matching stays linear in the length of the text whatever a value contains. Where a
value is one of a few words of our own (a role, a field's name), ``words`` gives their Turkish;
any other value is kept as it is.

tests/unit/test_refusals_translated.py finds every refusal text in the source and fails when
one has no entry here, or when an entry matches no text any more.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Refusal:
    english: str
    turkish: str
    # For a value that is one of our own words: its Turkish, by the English word.
    words: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


# What a value may look like; "text" (the default) and "refusal" are the free ones.
KINDS = {
    "text": r".+",
    # a text that is itself a refusal of this catalogue (Asterisk's, inside a supervisor's)
    "refusal": r".+",
    "word": r"\S{1,200}",  # no spaces: a queue, a phone interface, a field's name
    "number": r"[0-9]{1,12}(?:\.[0-9]{1,6})?",
    # Python's repr() of a string (what `{value!r}` writes): quotes, escapes inside
    "quoted": r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"",
    "date": r"[-0-9A-Za-z:+., ]{1,64}",  # what an ISO 8601 date or time is written with
}
FREE_KINDS = frozenset({"text", "refusal"})
PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([a-z]+))?\}")

# Our own words that appear as values, in Turkish (the words tr.ts uses for them).
ROLES = {"agent": "temsilci", "supervisor": "süpervizör", "admin": "yönetici"}
CUSTOMER_FIELDS = {
    "name": "ad soyad",
    "phone": "telefon",
    "address": "adres",
    "city": "şehir",
    "disposition": "sonuç kodu",
    "note": "not",
    "reason": "neden",
}
HISTORY_PERIOD = {"from": "başlangıç", "to": "bitiş"}
WHOLE_NUMBER_PARAMETERS = {
    "short_abandon": "kısa kaçan sınırı",
    "threshold": "eşik",
    "limit": "sayfadaki çağrı sayısı",
}
SUPERVISOR_ACTIONS = {
    "pause": "molaya alma",
    "unpause": "hazıra alma",
    "listen": "dinleme",
    "whisper": "fısıldama",
    "barge": "görüşmeye katılma",
}
TRY_AGAIN = "; {seconds} sn sonra yeniden deneyin"

CATALOGUE: tuple[Refusal, ...] = (
    # --- cti/http/agent.py: the body, the agent's state, call tools, click-to-dial -----------
    Refusal("the body must be JSON", "istek gövdesi JSON olmalı"),
    Refusal("the body must be a JSON object", "istek gövdesi bir JSON nesnesi olmalı"),
    Refusal("linkedid must be a call id", "linkedid bir çağrı kimliği olmalı"),
    Refusal("no such call of yours", "size ait böyle bir çağrı yok"),
    Refusal("paused must be true or false", "paused, true ya da false olmalı"),
    Refusal("pick a pause reason from the list", "listeden bir mola nedeni seçin"),
    Refusal(
        "no phone is linked to your user; ask an admin",
        "size atanmış bir telefon yok; yöneticinizden dahili numaranızı eklemesini isteyin",
    ),
    Refusal(
        "choose a disposition for the call from {caller} first:"
        " queue {queue:word} needs one before you are ready",
        "hazır olmadan önce {caller} ile görüşmeniz için bir sonuç kodu seçin:"
        " {queue} kuyruğunda sonuç kodu zorunlu",
        words={"caller": {"an unknown caller": "bilinmeyen bir arayan"}},
    ),
    Refusal("no such call of yours in progress", "size ait, şu anda süren böyle bir çağrı yok"),
    Refusal("muted must be true or false", "muted, true ya da false olmalı"),
    Refusal("you are not on this call", "bu çağrıda değilsiniz"),
    Refusal("attended must be true or false", "attended, true ya da false olmalı"),
    Refusal(
        "an attended transfer goes to an agent, not a queue",
        "önce görüşerek aktarma yalnızca bir temsilciye yapılabilir, kuyruğa yapılamaz",
    ),
    Refusal("there is no queue named {queue:quoted}", "{queue} adında bir kuyruk yok"),
    Refusal("transfer to another agent's phone", "başka bir temsilcinin telefonuna aktarın"),
    Refusal(
        "give either a queue or an agent to transfer to",
        "aktarmak için bir kuyruk ya da bir temsilci seçin",
    ),
    Refusal(
        "you have no phone to call from: an admin can give you one",
        "arama yapabileceğiniz bir telefon yok: yöneticiniz size bir telefon atayabilir",
    ),
    Refusal(
        "finish the call you are on before calling out",
        "giden arama yapmadan önce şu anki görüşmenizi bitirin",
    ),
    Refusal("number must be a phone number", "numara bir telefon numarası olmalı"),
    Refusal("customer_id must be a number or null", "customer_id bir sayı ya da null olmalı"),
    Refusal("no such customer", "böyle bir müşteri yok"),
    # --- cti/calllog/recording.py: pausing a call's recording ---------------------------------
    Refusal("call {linkedid:word} is not in progress", "{linkedid} çağrısı sürmüyor"),
    Refusal("call {linkedid:word} is not being recorded", "{linkedid} çağrısı kaydedilmiyor"),
    Refusal("the caller of {linkedid:word} has hung up", "{linkedid} çağrısında arayan kapattı"),
    # --- cti/http/auth.py, cti/auth/ratelimit.py: signing in, users --------------------------
    Refusal(
        "send the credentials as JSON with Content-Type: application/json",
        "kullanıcı adını ve parolayı JSON olarak, Content-Type: application/json ile gönderin",
    ),
    Refusal(
        'send JSON: {"username": ..., "password": ...}',
        'JSON gönderin: {"username": ..., "password": ...}',
    ),
    Refusal("send a JSON object", "bir JSON nesnesi gönderin"),
    Refusal("username and password must be strings", "kullanıcı adı ve parola metin olmalı"),
    Refusal("username or password too long", "kullanıcı adı ya da parola çok uzun"),
    Refusal(
        "too many failed sign-ins from this address; try again in {seconds:number} s",
        "bu adresten çok fazla başarısız giriş denemesi yapıldı" + TRY_AGAIN,
    ),
    Refusal(
        "too many failed sign-ins for this user from this address; try again in {seconds:number} s",
        "bu adresten bu kullanıcı için çok fazla başarısız giriş denemesi yapıldı" + TRY_AGAIN,
    ),
    Refusal(
        "this user has had many failed sign-ins, so sign-ins for it are slowed down;"
        " try again in {seconds:number} s",
        "bu kullanıcıyla çok sayıda başarısız giriş denemesi yapıldığı için girişleri"
        " yavaşlatıldı" + TRY_AGAIN,
    ),
    Refusal("wrong username or password", "kullanıcı adı ya da parola yanlış"),
    Refusal(
        "the database is unavailable; try again",
        "sunucu veritabanına ulaşamıyor; birazdan yeniden deneyin",
    ),
    Refusal(
        "you cannot disable your own user; ask another admin",
        "kendi kullanıcınızı devre dışı bırakamazsınız; başka bir yöneticiye başvurun",
    ),
    Refusal(
        "no user {username:quoted}; check the name",
        "{username} adında bir kullanıcı yok; adı denetleyin",
    ),
    # --- cti/http/security.py: who may call what ----------------------------------------------
    Refusal("route has no declared role", "bu adres için bir rol tanımlanmamış"),
    Refusal(
        "cross-site request refused; use the panel's own pages on this address",
        "başka bir siteden gelen istek reddedildi; bu adresteki panelin kendi sayfalarını kullanın",
    ),
    Refusal("sign in first", "önce giriş yapın"),
    Refusal("this needs the {role:word} role", "bunun için {role} rolü gerekir", {"role": ROLES}),
    Refusal(
        "missing or wrong CSRF token; reload the page",
        "CSRF belirteci eksik ya da yanlış; sayfayı yeniden yükleyin",
    ),
    # --- cti/customers/http.py, records.py: customers, notes, promises, callbacks ------------
    Refusal(
        "identity is verified on a call: linkedid is required",
        "kimlik bir çağrı sırasında doğrulanır: linkedid gerekli",
    ),
    Refusal(
        "this customer is not the caller of that call; verify a customer's identity"
        " on a call from one of their own numbers",
        "bu müşteri o çağrıyı yapan kişi değil; bir müşterinin kimliğini, kendi"
        " numaralarından birinden gelen bir çağrıda doğrulayın",
    ),
    Refusal("the search is longer than 200 characters", "arama metni 200 karakterden uzun"),
    Refusal(
        "no such customer; search again",
        "böyle bir müşteri yok; müşteri aramasını yineleyin",
    ),
    Refusal(
        "type at least three letters of a name, or a number",
        "bir adın en az üç harfini ya da bir numara yazın",
    ),
    Refusal("{field:word} is required", "{field} gerekli", {"field": CUSTOMER_FIELDS}),
    Refusal("{field:word} must be text", "{field} metin olmalı", {"field": CUSTOMER_FIELDS}),
    Refusal(
        "{field:word} is longer than {limit:number} characters",
        "{field} {limit} karakterden uzun",
        {"field": CUSTOMER_FIELDS},
    ),
    Refusal("{typed:quoted} is not a phone number", "{typed} bir telefon numarası değil"),
    Refusal(
        "this customer has no ID number on file",
        "bu müşterinin kayıtlı kimlik numarası yok",
    ),
    Refusal(
        "unknown disposition {chosen:quoted}; use one of: {choices}",
        "bilinmeyen sonuç kodu {chosen}; şunlardan birini kullanın: {choices}",
    ),
    Refusal("write a note or choose a disposition", "bir not yazın ya da bir sonuç kodu seçin"),
    Refusal("{value} is not an amount", "{value} bir tutar değil"),
    Refusal(
        "the amount must be positive, with at most 2 decimals",
        "tutar, en fazla 2 ondalık basamaklı pozitif bir sayı olmalı",
    ),
    Refusal("the amount is too large", "tutar çok büyük"),
    Refusal("{value} is not a date (YYYY-MM-DD)", "{value} bir tarih değil (YYYY-AA-GG)"),
    Refusal("a promise cannot be due in the past", "ödeme sözünün vadesi geçmişte olamaz"),
    Refusal("{value} is not a date and time", "{value} bir tarih ve saat değil"),
    Refusal(
        "the callback time needs a time zone",
        "geri arama zamanı bir saat dilimi içermeli",
    ),
    Refusal("a callback cannot be due in the past", "geri arama zamanı geçmişte olamaz"),
    # --- cti/supervision/http.py: KPIs, actions on agents, call history, recordings ----------
    Refusal(
        "{name:word} must be an ISO 8601 date or time",
        "{name} ISO 8601 biçiminde bir tarih ya da saat olmalı",
        {"name": HISTORY_PERIOD},
    ),
    Refusal(
        "{name:word} must be a whole number from {low:number} to {high:number}",
        "{name}, {low} ile {high} arasında bir tam sayı olmalı",
        {"name": WHOLE_NUMBER_PARAMETERS},
    ),
    Refusal("to must be after from", "bitiş, başlangıçtan sonra olmalı"),
    Refusal(
        "Asterisk refused to {action:word} {agent:word}: {reason:refusal}",
        "Asterisk, {agent} için {action} isteğini reddetti: {reason}",
        {"action": SUPERVISOR_ACTIONS},
    ),
    Refusal(
        "no such agent in the queues Asterisk reported",
        "Asterisk'in bildirdiği kuyruklarda böyle bir temsilci yok",
    ),
    Refusal("mode must be one of {modes}", "mode şunlardan biri olmalı: {modes}"),
    Refusal("no user has that name or phone", "bu ad ya da telefonla bir kullanıcı yok"),
    Refusal(
        "the period is reversed or empty: to must be after from (from {start:date}, to {end:date})",
        "dönem ters ya da boş: bitiş başlangıçtan sonra olmalı (başlangıç {start}, bitiş {end})",
    ),
    Refusal("outcome must be one of {outcomes}", "outcome şunlardan biri olmalı: {outcomes}"),
    Refusal(
        "consent must be granted, declined or none",
        "consent granted, declined ya da none olmalı",
    ),
    Refusal(
        "customer: type at least {count:number} letters of the name",
        "müşteri: adın en az {count} harfini yazın",
    ),
    Refusal(
        'agent: no one is called "{who}"; give a name or username as listed,'
        " or a phone such as PJSIP/1001",
        'temsilci: "{who}" adında kimse yok; listedeki gibi bir ad ya da kullanıcı adı,'
        " veya PJSIP/1001 gibi bir telefon yazın",
    ),
    Refusal(
        "agent: {who} has no phone, so no calls",
        "temsilci: {who} için telefon yok, bu yüzden çağrı da yok",
    ),
    Refusal(
        "after must be the `next` cursor of a previous page, unchanged",
        "after, önceki sayfanın değiştirilmemiş `next` imleci olmalı",
    ),
    Refusal(
        "this call has no recording (not recorded or declined)",
        "bu çağrının kaydı yok (kaydedilmedi ya da arayan izin vermedi)",
    ),
    Refusal(
        "this call's recording reference is not a file name",
        "bu çağrının kayıt bilgisi bir dosya adı değil",
    ),
    Refusal(
        "recording {file:word} is not in the recordings folder (yet)",
        "{file} kaydı kayıt klasöründe (henüz) yok",
    ),
    # --- cti/quality/http.py, reviews.py: quality review --------------------------------------
    Refusal("week must be a date, YYYY-MM-DD", "hafta bir tarih olmalı, YYYY-AA-GG"),
    Refusal("no call has this id", "bu kimlikle bir çağrı yok"),
    Refusal(
        "marks must give each criterion of the form its mark",
        "marks, formdaki her ölçüt için bir not içermeli",
    ),
    Refusal(
        "mark every criterion; not marked: {names}",
        "her ölçüte not verin; not verilmeyenler: {names}",
    ),
    Refusal(
        "these are not criteria of the form: {names}",
        "bunlar formun ölçütleri değil: {names}",
    ),
    Refusal(
        "the mark for {name:quoted} must be a whole number from 0 to {scale:number}",
        "{name} için not 0 ile {scale} arasında bir tam sayı olmalı",
    ),
    Refusal(
        "the comment must be text of at most {limit:number} characters",
        "yorum en fazla {limit} karakterlik bir metin olmalı",
    ),
    Refusal(
        "only a recorded call an agent answered can be reviewed",
        "yalnızca bir temsilcinin yanıtladığı, kaydı olan bir çağrı değerlendirilebilir",
    ),
    # --- cti/ami/: Asterisk's refusals and a lost link, answered as 502 ------------------------
    Refusal("not connected to Asterisk AMI", "Asterisk bağlantısı yok (AMI)"),
    Refusal("AMI connection lost", "Asterisk bağlantısı koptu (AMI)"),
    Refusal(
        "no answer to {action:word} within {seconds:number} s",
        "Asterisk, {action} isteğine {seconds} sn içinde yanıt vermedi",
    ),
    # The reason is Asterisk's own (English) words, kept as they are.
    Refusal(
        "Asterisk refused {action:word}: {reason}",
        "Asterisk, {action} isteğini reddetti: {reason}",
        {"reason": {"no reason given": "neden belirtmedi"}},
    ),
    Refusal("connection lost: {reason}", "bağlantı koptu: {reason}"),
    Refusal("login refused: {reason}", "AMI girişi reddedildi: {reason}"),
    Refusal(
        "no Pong within {seconds:number} s: dropping a dead connection",
        "{seconds} sn içinde Pong gelmedi: yanıt vermeyen bağlantı kapatılıyor",
    ),
    Refusal(
        "{action:word} list not complete in time",
        "{action} listesi zamanında tamamlanmadı",
    ),
    Refusal(
        "{action:word}: {header:word} must not contain a line break",
        "{action}: {header} satır sonu içeremez",
    ),
    Refusal("spy mode must be one of {modes}", "dinleme biçimi şunlardan biri olmalı: {modes}"),
    Refusal("transfer to one of {kinds}", "şunlardan birine aktarın: {kinds}"),
    Refusal(
        "an attended transfer goes to an agent's numbered phone",
        "önce görüşerek aktarma, bir temsilcinin numaralı telefonuna yapılır",
    ),
    # --- cti/campaigns/: campaigns, their lists, the do-not-call list -------------------------
    Refusal("no such campaign", "böyle bir kampanya yok"),
    Refusal("a campaign of that name exists", "bu adda bir kampanya zaten var"),
    Refusal("{name:word} must be a time such as 09:00", "{name}, 09:00 gibi bir saat olmalı"),
    Refusal("{name:word} must be a whole number", "{name} bir tam sayı olmalı"),
    Refusal(
        "weekdays must be a list of days, 1 (Monday) to 7 (Sunday)",
        "weekdays, 1 (Pazartesi) ile 7 (Pazar) arası günlerin listesi olmalı",
    ),
    Refusal(
        "retry_s may give seconds for: {outcomes}",
        "retry_s yalnızca şunlar için saniye verebilir: {outcomes}",
    ),
    Refusal(
        "agents must be a list of phones, such as PJSIP/1001",
        "agents, PJSIP/1001 gibi telefonların listesi olmalı",
    ),
    Refusal("filter must name one of: {filters}", "filter şunlardan birini belirtmeli: {filters}"),
    Refusal("give the number and the reason", "numarayı ve nedenini yazın"),
    Refusal("give the number", "numarayı yazın"),
    Refusal(
        "the retry delay after {outcome:word} must be 0 to 30 days",
        "{outcome} sonrasında yeniden arama süresi 0 ile 30 gün arasında olmalı",
    ),
    Refusal(
        "the retry delay after {outcome:word} must be whole seconds",
        "{outcome} sonrasında yeniden arama süresi tam saniye olmalı",
    ),
    Refusal(
        "calling hours are local times, without a time zone",
        "arama saatleri, saat dilimi belirtilmeden yerel saat olarak verilir",
    ),
    Refusal(
        "calling hours must start before they end, on the same day",
        "arama saatleri aynı gün içinde, bitişten önce başlamalı",
    ),
    Refusal(
        "calling days are ISO weekdays, 1 (Monday) to 7 (Sunday)",
        "arama günleri 1 (Pazartesi) ile 7 (Pazar) arasında olmalı",
    ),
    Refusal(
        "a campaign's name is 1 to 100 printable characters",
        "kampanya adı 1 ile 100 arası yazdırılabilir karakterden oluşmalı",
    ),
    Refusal(
        "the caller ID must be an E.164 number such as +902125550000",
        "gösterilecek numara +902125550000 gibi E.164 biçiminde olmalı",
    ),
    Refusal(
        "not member interfaces (such as PJSIP/1001): {bad}",
        "kuyruk üyesi telefon değil (PJSIP/1001 gibi olmalı): {bad}",
    ),
    Refusal(
        "attempts per day must be 1 to {most:number}",
        "günlük deneme sayısı 1 ile {most} arasında olmalı",
    ),
    Refusal(
        "attempts in total must be 1 to {most:number}",
        "toplam deneme sayısı 1 ile {most} arasında olmalı",
    ),
    Refusal(
        "an entry needs at least one time zone", "bir listedeki kayıt en az bir saat dilimi ister"
    ),
    Refusal(
        "the center's time zone {zone:quoted} is unknown to the database",
        "merkezin saat dilimi {zone} veritabanında bilinmiyor",
    ),
    Refusal("the balance to exceed must be a number", "aşılacak bakiye bir sayı olmalı"),
    Refusal(
        "days not reached must be 1 to 3650", "ulaşılamayan gün sayısı 1 ile 3650 arasında olmalı"
    ),
    Refusal("number {raw:quoted} is not a phone number", "{raw} bir telefon numarası değil"),
    Refusal("priority {given:quoted} is not a whole number", "öncelik {given} bir tam sayı değil"),
    Refusal(
        "priority must be between -{low:word} and {high:word}",
        "öncelik -{low} ile {high} arasında olmalı",
    ),
    Refusal(
        "a reason is required, at most {most:number} characters",
        "bir neden yazılmalı, en çok {most} karakter",
    ),
)


@dataclass(frozen=True, slots=True)
class _Compiled:
    refusal: Refusal
    pattern: re.Pattern[str]
    kinds: Mapping[str, str]  # each value's kind, by name


def _compiled(refusal: Refusal) -> _Compiled:
    """The entry's English as an anchored pattern; a malformed entry stops the import."""
    parts: list[str] = []
    kinds: dict[str, str] = {}
    at = 0
    for slot in PLACEHOLDER.finditer(refusal.english):
        name, kind = slot.group(1), slot.group(2) or "text"
        if kind not in KINDS or name in kinds:
            raise ValueError(f"refusal {refusal.english!r}: bad or repeated {slot.group(0)}")
        parts += [re.escape(refusal.english[at : slot.start()]), f"(?P<{name}>{KINDS[kind]})"]
        kinds[name], at = kind, slot.end()
    parts.append(re.escape(refusal.english[at:]))
    if sum(kind in FREE_KINDS for kind in kinds.values()) > 1:
        raise ValueError(f"refusal {refusal.english!r}: more than one free-text value")
    if set(PLACEHOLDER.findall(refusal.turkish)) != {(name, "") for name in kinds}:
        raise ValueError(f"refusal {refusal.english!r}: its Turkish must use each value, by name")
    return _Compiled(refusal, re.compile("".join(parts), re.DOTALL), kinds)


_ENTRIES = tuple(_compiled(refusal) for refusal in CATALOGUE)


def _first_match(text: str) -> tuple[_Compiled, re.Match[str]] | None:
    """The first entry, in the catalogue's order, whose English matches the whole text."""
    for entry in _ENTRIES:
        found = entry.pattern.fullmatch(text)
        if found is not None:
            return entry, found
    return None


def entry_for(text: str) -> Refusal | None:
    """The entry that translates ``text``, if any (the catalogue's test asks)."""
    match = _first_match(text)
    return None if match is None else match[0].refusal


def in_turkish(text: str, nested: bool = True) -> str | None:
    """``text`` in Turkish, or None when no entry matches it. A "refusal" value is
    translated in turn, one level deep only (``nested``)."""
    match = _first_match(text)
    if match is None:
        return None
    entry, found = match
    values = {}
    for name, kind in entry.kinds.items():
        value = found.group(name)
        value = entry.refusal.words.get(name, {}).get(value, value)
        if kind == "refusal" and nested:
            value = in_turkish(value, nested=False) or value
        values[name] = value
    # A function, not a replacement template: the values go in exactly as they are.
    return PLACEHOLDER.sub(lambda slot: values[slot.group(1)], entry.refusal.turkish)


LANGUAGES = ("tr", "en")  # the panel's; English is the default
QUALITY = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")  # RFC 9110 §12.4.2


def prefers_turkish(accept_language: str) -> bool:
    """Whether an Accept-Language header (RFC 9110 §12.5.4) ranks Turkish above English:
    ``tr``, ``tr-TR``, q-values, ``*``. A tie goes to the language listed first; an item with
    a malformed q-value is ignored, as the RFC asks."""
    items = accept_language.split(",")
    ranked: dict[str, tuple[float, int]] = {}  # language: (q, -position)
    anything: tuple[float, int] | None = None
    for position, item in enumerate(items):
        tag, *parameters = (part.strip() for part in item.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                weight = float(value) if QUALITY.fullmatch(value.strip()) else -1.0
        if weight < 0 or not tag:
            continue
        rank = (weight, -position)
        primary = tag.lower().split("-")[0]
        if primary == "*":  # ties go to a language named, wherever it is listed
            anything = anything or (weight, -len(items))
        elif primary in LANGUAGES and primary not in ranked:  # the first mention counts
            ranked[primary] = rank
    turkish = ranked.get("tr", anything) or (0.0, 0)
    english = ranked.get("en", anything) or (0.0, 0)
    return turkish[0] > 0 and turkish > english


# The untranslated texts logged already (their beginnings: a text may hold a megabyte of
# what a client sent), so that each is logged once and memory stays bounded.
_UNTRANSLATED_SEEN: set[str] = set()
_UNTRANSLATED_SEEN_MAX = 1000
_UNTRANSLATED_SHOWN = 300


def _in_turkish_or_logged(text: str) -> str | None:
    turkish = in_turkish(text)
    seen, beginning = _UNTRANSLATED_SEEN, text[:_UNTRANSLATED_SHOWN]
    if turkish is None and beginning not in seen and len(seen) < _UNTRANSLATED_SEEN_MAX:
        seen.add(beginning)
        log.debug("refusal sent in English, it has no Turkish: %r", beginning)
    return turkish


def _translate(response: web.StreamResponse) -> None:
    """Rewrite a not-yet-sent plain-text refusal into Turkish, where the catalogue has it."""
    if response.status < 400 or response.prepared or not isinstance(response, web.Response):
        return
    if response.content_type != "text/plain" or not isinstance(response.body, bytes):
        return
    text = response.text
    turkish = _in_turkish_or_logged(text) if text else None
    if turkish is not None:
        response.text = turkish
        response.headers["Content-Language"] = "tr"


@web.middleware
async def refusals_in_the_users_language(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Refusals in Turkish for a request that prefers Turkish; listed before ``authorize``
    in the application's middlewares, so that it wraps it and sees its refusals too."""
    if not prefers_turkish(request.headers.get("Accept-Language", "")):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as refusal:  # aiohttp's exceptions are the responses sent
        _translate(refusal)
        raise
    _translate(response)
    return response
