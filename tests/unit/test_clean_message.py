"""Values are cleaned where events are built: control characters out, text cut to what the
call log's indexes hold; a message that needs nothing is passed on as it is."""

from __future__ import annotations

from cti.ami.events import MAX_TEXT, clean_message


def test_a_clean_message_is_the_same_object() -> None:
    message = {"Event": "Newchannel", "CallerIDName": "Ayşe Çağrı", "Variable": "A=1\nB=2"}
    assert clean_message(message) is message


def test_control_characters_in_any_value_are_removed_from_it() -> None:
    message = {"Event": "Newchannel", "CallerIDName": "Ali\x00 Veli\x1b[31m", "Exten": "4440"}
    assert clean_message(message) == {
        "Event": "Newchannel",
        "CallerIDName": "Ali Veli[31m",
        "Exten": "4440",
    }


def test_long_text_is_cut_and_each_repeated_value_on_its_own() -> None:
    long = "x" * (MAX_TEXT + 45)
    cleaned = clean_message({"Event": "Status", "Variable": f"A={long}\nB=2", "Data": long})
    assert cleaned["Data"] == "x" * MAX_TEXT
    first, second = cleaned["Variable"].split("\n")
    assert (len(first), second) == (MAX_TEXT, "B=2")
