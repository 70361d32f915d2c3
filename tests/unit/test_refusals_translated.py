"""Every refusal a person can meet through the panel has its Turkish (cti/http/refusals.py).

The refusal texts are found by parsing the source (``ast``), so that a new English refusal
cannot be added without its Turkish. What counts as a refusal text:

- the ``text=`` of a ``web.HTTP...`` exception or response anywhere in ``cti/``, when it
  is written there: a string or an f-string;
- the message of an exception whose ``str()`` a route sends as the text (``text=str(exc)``,
  or ``{exc}`` in an f-string), written where the exception is made: a string or f-string as
  its first argument, in the modules that make it (``SENT_AS_REFUSALS``). TooManyAttempts
  adds "; try again in N s" to its message, and ActionFailed builds Asterisk's refusal in
  its constructor: those are taken as the exception's ``str()``.

A module that starts sending an exception's message as a refusal fails
``test_every_exception_sent_as_a_refusal_is_searched`` until it is listed here. Not counted:
aiohttp's own bodies ("404: Not Found"), values a text is only passed through (Asterisk's
reasons inside "Asterisk refused ...", a wallboard alert's text) and the two texts of
``ENGLISH_ONLY``, which no panel user meets.

An f-string's values become probes ("7", "'x'", a date) so that each text is tried as the
daemon would send it; it counts as translated when the catalogue turns it into Turkish.
Each entry of the catalogue must translate some text found here: an entry whose English
was changed or removed in the code is found stale.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from cti.ami.protocol import ActionFailed
from cti.auth.ratelimit import TooManyAttempts
from cti.http.refusals import (
    CATALOGUE,
    entry_for,
    in_turkish,
    prefers_turkish,
    refusals_in_the_users_language,
)

REPO = Path(__file__).resolve().parents[2]
# The messages of AMI errors: its subclasses raised with a message, where they are.
AMI_ERRORS = (
    ("cti/ami/actions.py", "cti/ami/connection.py", "cti/ami/protocol.py"),
    ("AmiDisconnected", "AmiTimeout", "UnsafeValue"),
)
# By the module sending it and the exception it catches: the exceptions whose message a
# route sends as a refusal's text, where they are made, as which classes.
SENT_AS_REFUSALS = {
    ("cti/customers/http.py", "CustomerError"): (
        ("cti/customers/records.py",),
        ("CustomerError",),
    ),
    ("cti/quality/http.py", "ReviewError"): (("cti/quality/reviews.py",), ("ReviewError",)),
    ("cti/http/agent.py", "NothingToMute"): (("cti/calllog/recording.py",), ("NothingToMute",)),
    ("cti/http/auth.py", "TooManyAttempts"): (("cti/auth/ratelimit.py",), ("TooManyAttempts",)),
    ("cti/http/agent.py", "AmiError"): AMI_ERRORS,
    ("cti/supervision/http.py", "AmiError"): AMI_ERRORS,
    # the transfer route sends the ValueErrors of the actions it calls
    ("cti/http/agent.py", "ValueError"): (("cti/ami/actions.py",), ("ValueError",)),
    # the campaigns' routes send the rules' and the lists' words for what is out of range
    ("cti/campaigns/http.py", "ValueError"): (
        ("cti/campaigns/rules.py", "cti/campaigns/lists.py", "cti/campaigns/http.py"),
        ("ValueError",),
    ),
}
# The text as sent, where the exception adds to the message it was made with.
AS_SENT: dict[str, Callable[[str], str]] = {
    "TooManyAttempts": lambda message: str(TooManyAttempts(message, 7.0)),
}
# Texts made in an exception's constructor, not at the raise: Asterisk refusing an action.
MADE_IN_CONSTRUCTORS = (
    str(ActionFailed("QueuePause", "Interface not found")),
    str(ActionFailed("Hangup", "no reason given")),  # cti/ami/actions.py's words for none
)
ENGLISH_ONLY = {
    "metrics need the CTI_METRICS_TOKEN bearer token": "Prometheus's, on /metrics: ops",
    "the panel is not built: run scripts/setup (it needs npm)": (
        "the operator's, while installing: there is no panel yet to say a language"
    ),
}
PROBES = ("7", "'x'", "2024-05-06")  # a number, a repr()'d text, a date: each kind's shape

# A text as written: its literal parts, and None where a value goes in.
Template = tuple[str | None, ...]


def template_of(node: ast.expr) -> Template | None:
    """A string or f-string as a template; None for anything else (str(exc), a name)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.JoinedStr):
        return tuple(part.value if isinstance(part, ast.Constant) else None for part in node.values)
    return None


def name_of(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def is_http_answer(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "web"
        and node.func.attr.startswith("HTTP")
    )


def http_texts(source: str) -> Iterator[Template]:
    for node in ast.walk(ast.parse(source)):
        if is_http_answer(node):
            assert isinstance(node, ast.Call)
            for keyword in node.keywords:
                found = template_of(keyword.value) if keyword.arg == "text" else None
                if found is not None:
                    yield found


def messages_of(source: str, classes: tuple[str, ...]) -> Iterator[tuple[str, Template]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and name_of(node.func) in classes and node.args:
            found = template_of(node.args[0])
            if found is not None:
                yield name_of(node.func), found


def samples(template: Template) -> list[str]:
    """The template as the daemon could send it, with probe values."""
    values = sum(part is None for part in template)
    texts = []
    for probes in itertools.product(PROBES, repeat=values):
        given = iter(probes)
        texts.append("".join(next(given) if part is None else part for part in template))
    return texts


@dataclass(frozen=True)
class Found:
    where: str
    samples: tuple[str, ...]  # the text as it could be sent, each value probed

    @property
    def translated(self) -> bool:
        """A value of the wrong shape for its entry is only a probe: one sample will do."""
        return any(text in ENGLISH_ONLY or in_turkish(text) is not None for text in self.samples)


def texts_in(where: str, source: str) -> list[Found]:
    """The refusal texts written in one module's ``source``."""
    found = [Found(where, tuple(samples(t))) for t in http_texts(source)]
    for modules, classes in set(SENT_AS_REFUSALS.values()):
        if where in modules:
            for made, template in messages_of(source, classes):
                sent = AS_SENT.get(made, str)
                found.append(Found(where, tuple(sent(text) for text in samples(template))))
    return found


def refusal_texts() -> list[Found]:
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / "cti").rglob("*.py")}
    found = [Found("constructors", (text,)) for text in MADE_IN_CONSTRUCTORS]
    for where in sorted(modules):
        found += texts_in(where, (REPO / where).read_text(encoding="utf-8"))
    return found


def test_every_refusal_text_has_its_turkish() -> None:
    found = refusal_texts()
    assert len(found) > 90, "the search no longer finds the refusals"
    missing = [(f.where, f.samples[0]) for f in found if not f.translated]
    assert not missing, f"add these to CATALOGUE in cti/http/refusals.py: {missing}"


def test_the_search_bites_on_a_new_refusal_without_turkish() -> None:
    probe = (
        "async def handler(request):\n"
        "    if request.query.get('x'):\n"
        "        raise web.HTTPConflict(text=f'the queue {name} is closed for the night')\n"
        "    raise web.HTTPBadRequest(text='number must be a phone number')\n"
    )
    found = {f.samples[0]: f.translated for f in texts_in("cti/http/agent.py", probe)}
    assert found == {
        "the queue 7 is closed for the night": False,
        "number must be a phone number": True,
    }
    raised = "raise CustomerError(f'{x!r} is not a postcode')\n"
    assert [f.translated for f in texts_in("cti/customers/records.py", raised)] == [False]
    assert texts_in("cti/customers/importer.py", raised) == []  # not a module sending it


def test_every_catalogue_entry_translates_a_text_of_the_code() -> None:
    used = {
        id(entry)
        for found in refusal_texts()
        for text in found.samples
        if (entry := entry_for(text)) is not None
    }
    stale = [entry.english for entry in CATALOGUE if id(entry) not in used]
    assert not stale, f"no refusal of the code has these texts any more: {stale}"


def exceptions_sent_as_text(source: str) -> set[str]:
    """The exceptions whose message a handler sends as an HTTP answer's text: ``except E
    as exc`` with ``exc`` inside the ``text=`` of a ``web.HTTP...``."""
    sent = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ExceptHandler) or node.name is None or node.type is None:
            continue
        types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        for answer in (n for statement in node.body for n in ast.walk(statement)):
            if not is_http_answer(answer):
                continue
            assert isinstance(answer, ast.Call)
            texts = [k.value for k in answer.keywords if k.arg == "text"]
            names = {n.id for t in texts for n in ast.walk(t) if isinstance(n, ast.Name)}
            if node.name in names:
                sent |= {name_of(t) for t in types}
    return sent


def test_every_exception_sent_as_a_refusal_is_searched() -> None:
    sent = set()
    for path in (REPO / "cti").rglob("*.py"):
        where = path.relative_to(REPO).as_posix()
        caught = exceptions_sent_as_text(path.read_text(encoding="utf-8"))
        sent |= {(where, exception) for exception in caught}
    assert sent == set(SENT_AS_REFUSALS)
    probe = (
        "try:\n    pass\nexcept (CrmError, OSError) as exc:\n"
        "    raise web.HTTPBadGateway(text=f'the CRM: {exc}') from None\n"
    )
    assert exceptions_sent_as_text(probe) == {"CrmError", "OSError"}


# --- translating: the values kept verbatim, whatever they hold ----------------------------

HOSTILE = (
    "<script>alert(1)</script>",
    "{x}",
    "{caller} {queue}",
    "%s %(x)s %d",
    r"\1 \g<0> $1",
    "Çağrı\nYılmaz",
    "first: queue evil needs one before you are ready",  # the text's own words
    "ş" * 100_000,
)


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:20]))
def test_values_are_copied_into_the_turkish_as_they_are(value: str) -> None:
    disposition = (
        f"choose a disposition for the call from {value} first: queue support needs one"
        " before you are ready"
    )
    assert in_turkish(disposition) == (
        f"hazır olmadan önce {value} ile görüşmeniz için bir sonuç kodu seçin:"
        " support kuyruğunda sonuç kodu zorunlu"
    )
    assert in_turkish(f"{value!r} is not an amount") == f"{value!r} bir tutar değil"
    assert in_turkish(f"there is no queue named {value!r}") == f"{value!r} adında bir kuyruk yok"
    nested = f"Asterisk refused to listen SIP/1001: Asterisk refused Originate: {value}"
    assert in_turkish(nested) == (
        f"Asterisk, SIP/1001 için dinleme isteğini reddetti: Asterisk, Originate isteğini"
        f" reddetti: {value}"
    )


def test_our_own_words_are_translated_and_any_other_value_kept() -> None:
    assert in_turkish("this needs the supervisor role") == "bunun için süpervizör rolü gerekir"
    assert in_turkish("this needs the superuser role") == "bunun için superuser rolü gerekir"
    assert in_turkish("name is required") == "ad soyad gerekli"
    assert in_turkish("note is longer than 4000 characters") == "not 4000 karakterden uzun"
    assert in_turkish(
        "choose a disposition for the call from an unknown caller first: queue sales needs"
        " one before you are ready"
    ) == (
        "hazır olmadan önce bilinmeyen bir arayan ile görüşmeniz için bir sonuç kodu seçin:"
        " sales kuyruğunda sonuç kodu zorunlu"
    )
    assert in_turkish("Asterisk refused Hangup: No such channel") == (
        "Asterisk, Hangup isteğini reddetti: No such channel"  # Asterisk's own words
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "something the daemon never says",
        "the body must be JSON ",  # the whole text must match, not a part
        "THE BODY MUST BE JSON",
        "the amount must be positive",
        "too many failed sign-ins from this address; try again in soon s",  # not a number
        "this needs the  role",
    ],
)
def test_a_text_matching_no_entry_is_left_alone(text: str) -> None:
    assert in_turkish(text) is None


@pytest.mark.parametrize(
    ("header", "turkish"),
    [
        ("tr", True),
        ("tr-TR", True),
        ("TR-tr", True),
        ("tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7", True),  # Chromium in Turkish
        ("en-US,en;q=0.9,tr;q=0.8", False),
        ("en", False),
        ("", False),
        ("de", False),
        ("*", False),  # anything: the default
        ("de, *;q=0.5", False),
        ("en;q=0.3, tr;q=0.7", True),
        ("tr;q=0.5, en;q=0.5", True),  # a tie: the one listed first
        ("*, en", False),  # a tie with anything: the language named
        ("*, tr", True),
        ("en;q=0.5, tr;q=0.5", False),
        ("tr;q=0", False),  # "not Turkish"
        ("tr;q=0, *", False),
        ("en;q=0, *", True),
        ("tr;q=2, en;q=0.1", False),  # a malformed q-value: the item is ignored
        ("tr;q=high", False),
        (" tr ; q=0.800 , en ; q=0.1 ", True),
        (",,;", False),
    ],
)
def test_the_accept_language_header_is_read_with_its_q_values(header: str, turkish: bool) -> None:
    assert prefers_turkish(header) is turkish


# --- the middleware: plain-text refusals only ----------------------------------------------


async def answered(
    language: str, answer: web.StreamResponse | web.HTTPException
) -> web.StreamResponse:
    """What the middleware makes of a handler's answer (returned, or raised) to a request
    asking for ``language``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if isinstance(answer, web.HTTPException):
            raise answer
        return answer

    request = make_mocked_request("POST", "/api/x", headers={"Accept-Language": language})
    middleware: Callable[..., Awaitable[web.StreamResponse]] = refusals_in_the_users_language
    try:
        return await middleware(request, handler)
    except web.HTTPException as refusal:
        return refusal


async def test_a_refusal_raised_or_returned_is_translated_for_turkish_only() -> None:
    raised = await answered("tr", web.HTTPBadRequest(text="no such customer"))
    assert isinstance(raised, web.Response)
    assert (raised.status, raised.text) == (400, "böyle bir müşteri yok")
    assert raised.headers["Content-Language"] == "tr"
    returned = await answered("tr-TR", web.Response(status=409, text="sign in first"))
    assert isinstance(returned, web.Response)
    assert (returned.status, returned.text) == (409, "önce giriş yapın")
    english = await answered("en", web.HTTPBadRequest(text="no such customer"))
    assert isinstance(english, web.Response)
    assert english.text == "no such customer"
    assert "Content-Language" not in english.headers
    limited = await answered(
        "tr",
        web.HTTPTooManyRequests(
            text="too many failed sign-ins from this address; try again in 30 s",
            headers={"Retry-After": "30"},
        ),
    )
    assert isinstance(limited, web.Response)
    assert limited.text == (
        "bu adresten çok fazla başarısız giriş denemesi yapıldı; 30 sn sonra yeniden deneyin"
    )
    assert limited.headers["Retry-After"] == "30"


async def test_json_bodies_and_successful_answers_are_never_touched() -> None:
    as_json = await answered("tr", web.json_response({"error": "no such customer"}, status=400))
    assert isinstance(as_json, web.Response)
    assert as_json.body == b'{"error": "no such customer"}'
    ok = await answered("tr", web.Response(text="no such customer"))
    assert isinstance(ok, web.Response)
    assert ok.text == "no such customer"
    moved = await answered("tr", web.HTTPSeeOther("/login"))
    assert (moved.status, moved.headers["Location"]) == (303, "/login")


async def test_a_text_not_in_the_catalogue_passes_in_english_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="cti.http.refusals")
    for _ in range(3):
        refused = await answered("tr", web.HTTPConflict(text="the moon is not in the sky"))
        assert isinstance(refused, web.Response)
        assert refused.text == "the moon is not in the sky"
        assert "Content-Language" not in refused.headers
    logged = [r.getMessage() for r in caplog.records if "moon" in r.getMessage()]
    assert logged == ["refusal sent in English, it has no Turkish: 'the moon is not in the sky'"]
