"""AGI ``cti-consent``: ask the caller for recording consent, set CONSENT, report it with a
UserEvent.

Called from dialplan/extensions_cti.conf as
    AGI(cti-consent,<mode>,<default>,<timeout seconds>)
mode: ``implied`` (the announcement alone: staying on the line is consent) or ``explicit``
(press 1 to accept, 2 to decline; no key within the timeout: ``default``).

It sets the channel variable CONSENT (granted|declined) and CONSENT_METHOD
(implied|dtmf|timeout), the same in the call's CDR (``cti_consent``, ``cti_consent_method``:
Asterisk's durable record, which the daemon reconciles from after a gap), and then sends
``UserEvent(RecordingConsent,Consent: …,Method: …)``, which the CTI daemon records per call.
The CDR comes first: a caller who hangs up just after the decision was reported live must
have it in the CDR too (the dialplan's own Set() after the AGI never runs then).

Any failure (pyst2 missing, a hang-up, a prompt Asterisk cannot find) exits non-zero before
CONSENT is set: the dialplan then applies the configured default itself, writes it into the
CDR and still reports it (Method: fallback).

Installed as the console script ``cti-consent`` (pyproject.toml), whose shebang is the
virtual environment's Python; Asterisk's agi-bin holds a symlink to it (docs/deploy.md). The
prompts are dialplan/sounds/<language>/cti/*.gsm; Asterisk picks the channel's language.
"""

from __future__ import annotations

import sys

NOTICE = "cti/recording-notice"  # "this call may be recorded for quality purposes"
QUESTION = "cti/press-1-accept-2-decline"
CHOICES = {"1": "granted", "2": "declined"}


def decide(mode: str, digits: str, default: str) -> tuple[str, str]:
    """(consent, method) from what the caller pressed; pure, so it is tested alone."""
    if mode == "implied":
        return "granted", "implied"
    choice = CHOICES.get(digits[:1])
    if choice is None:
        return default, "timeout"
    return choice, "dtmf"


def run(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "explicit"
    default = argv[2] if len(argv) > 2 else "granted"
    timeout_s = float(argv[3]) if len(argv) > 3 else 5.0
    if mode not in ("implied", "explicit") or default not in ("granted", "declined"):
        print(f"cti-consent: bad arguments {argv[1:]!r}", file=sys.stderr)
        return 2
    # Imported here, so that a missing pyst2 is one more failure the dialplan falls back on.
    from asterisk.agi import AGI  # pyst2

    with open("/dev/null", "w") as quiet:  # pyst2 echoes its arguments and agi_* on stderr
        agi = AGI(stderr=quiet)
        digits = ""
        if mode == "implied":
            agi.stream_file(NOTICE)
        else:
            digits = str(agi.get_data(QUESTION, int(timeout_s * 1000), 1))
        consent, method = decide(mode, digits, default)
        agi.set_variable("CONSENT", consent)
        agi.set_variable("CONSENT_METHOD", method)
        agi.set_variable("CDR(cti_consent)", consent)
        agi.set_variable("CDR(cti_consent_method)", method)
        agi.appexec("UserEvent", f"RecordingConsent,Consent: {consent},Method: {method}")
    return 0


def main() -> None:
    try:
        code = run(sys.argv)
    except Exception as exc:  # the dialplan falls back to the default and reports it
        print(f"cti-consent: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
