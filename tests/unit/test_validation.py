"""The contract's input rules: each function's accepted values (and the clean value it
gives) and refused ones (and the error code the 400 carries)."""

from __future__ import annotations

from typing import Any

import pytest

from tornado_chat.validation import (
    CLIENT_ID_MAX_CHARS,
    GROUP_NAME_MAX_CHARS,
    MAX_ID,
    PASSWORD_MAX_CHARS,
    PASSWORD_MIN_CHARS,
    TEXT_MAX_CHARS,
    Invalid,
    client_id,
    group_name,
    int_argument,
    message_text,
    password,
    path_id,
    sign_in_field,
    timeout_argument,
    username,
)

LONE_SURROGATE = "\ud800"
NOT_TEXT = [None, 12345678, 1.5, True, ["text"], {"text": "x"}]


def refused_code(rule: Any, *args: Any) -> str:
    with pytest.raises(Invalid) as refused:
        rule(*args)
    return refused.value.code


def test_invalid_is_a_value_error_with_a_code_and_a_message() -> None:
    error = Invalid("invalid_text", "text must be a string of text")
    assert isinstance(error, ValueError)
    assert (error.code, str(error)) == ("invalid_text", "text must be a string of text")


# username


@pytest.mark.parametrize("value", ["ana", "a" * 32, "Ana_9", "___", "123"])
def test_a_username_is_3_to_32_ascii_letters_digits_or_underscores(value: str) -> None:
    assert username(value) == value


@pytest.mark.parametrize(
    "value",
    ["ab", "a" * 33, "", "ana!", "ana b", "ana-b", "anä", "ana\n", "\u0661\u0662\u0663", "ａｎａ", *NOT_TEXT],
)
def test_any_other_username_is_invalid_username(value: Any) -> None:
    assert refused_code(username, value) == "invalid_username"


# password


@pytest.mark.parametrize(
    "value", ["x" * PASSWORD_MIN_CHARS, "x" * PASSWORD_MAX_CHARS, "pässwörd", "with spaces ", "🔑" * PASSWORD_MIN_CHARS]
)
def test_a_password_is_8_to_1024_characters_of_any_text(value: str) -> None:
    assert password(value) == value


@pytest.mark.parametrize(
    "value", ["x" * (PASSWORD_MIN_CHARS - 1), "x" * (PASSWORD_MAX_CHARS + 1), "", LONE_SURROGATE * 8, *NOT_TEXT]
)
def test_any_other_password_is_invalid_password(value: Any) -> None:
    assert refused_code(password, value) == "invalid_password"


# the fields of a sign-in


@pytest.mark.parametrize("value", ["", "x", "not a username!", "x" * 5000])
def test_a_sign_in_field_is_any_text(value: str) -> None:
    assert sign_in_field(value, "invalid_username", "username") == value


@pytest.mark.parametrize("value", [LONE_SURROGATE, "ana" + LONE_SURROGATE, *NOT_TEXT])
def test_a_sign_in_field_that_is_not_text_utf8_can_hold_gets_the_fields_code(value: Any) -> None:
    assert refused_code(sign_in_field, value, "invalid_password", "password") == "invalid_password"


# group name


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("Team", ("Team", "team")),
        ("  Team  ", ("Team", "team")),
        ("\tTeam\n", ("Team", "team")),
        ("x", ("x", "x")),
        ("x" * GROUP_NAME_MAX_CHARS, ("x" * GROUP_NAME_MAX_CHARS, "x" * GROUP_NAME_MAX_CHARS)),
        ("Straße", ("Straße", "strasse")),
        ("Café ☕", ("Café ☕", "café ☕")),
    ],
)
def test_a_group_name_is_1_to_64_characters_after_trimming_with_a_case_blind_key(
    value: str, clean: tuple[str, str]
) -> None:
    assert group_name(value) == clean


def test_names_that_differ_only_in_unicode_normalization_have_the_same_key() -> None:
    composed, decomposed = group_name("Caf\u00e9"), group_name("Cafe\u0301")
    assert composed[1] == decomposed[1]


@pytest.mark.parametrize(
    "value",
    ["", "   ", "\n\t", "x" * (GROUP_NAME_MAX_CHARS + 1), " " + "x" * (GROUP_NAME_MAX_CHARS + 1) + " ",
     "a\x00b", "a\nb", "a\x1bb", "a\x7fb", LONE_SURROGATE, *NOT_TEXT],
)
def test_any_other_group_name_is_invalid_name(value: Any) -> None:
    assert refused_code(group_name, value) == "invalid_name"


# message text


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("hello", "hello"),
        ("  hello \n", "hello"),
        ("line one\nline two", "line one\nline two"),
        ("x" * TEXT_MAX_CHARS, "x" * TEXT_MAX_CHARS),
        (" " + "x" * TEXT_MAX_CHARS + " ", "x" * TEXT_MAX_CHARS),
        ("🙂" * TEXT_MAX_CHARS, "🙂" * TEXT_MAX_CHARS),
    ],
)
def test_a_message_text_is_1_to_4000_characters_after_trimming(value: str, clean: str) -> None:
    assert message_text(value) == clean


@pytest.mark.parametrize(
    "value", ["", "  \n ", "x" * (TEXT_MAX_CHARS + 1), "a\x00b", LONE_SURROGATE, "hi" + LONE_SURROGATE, *NOT_TEXT]
)
def test_any_other_message_text_is_invalid_text(value: Any) -> None:
    assert refused_code(message_text, value) == "invalid_text"


# client_id


@pytest.mark.parametrize("value", ["x", "x" * CLIENT_ID_MAX_CHARS, " spaced ", "🙂", "3f2c-uuid"])
def test_a_client_id_is_1_to_64_characters_kept_as_given(value: str) -> None:
    assert client_id(value) == value


def test_no_client_id_is_none() -> None:
    assert client_id(None) is None


@pytest.mark.parametrize("value", ["", "x" * (CLIENT_ID_MAX_CHARS + 1), LONE_SURROGATE, 12, 1.5, True, ["x"], {}])
def test_any_other_client_id_is_invalid_client_id(value: Any) -> None:
    assert refused_code(client_id, value) == "invalid_client_id"


# ids in paths


@pytest.mark.parametrize(("value", "number"), [("1", 1), ("42", 42), (str(MAX_ID), MAX_ID)])
def test_a_path_id_is_a_positive_decimal_up_to_max_id(value: str, number: int) -> None:
    assert path_id(value) == number


@pytest.mark.parametrize(
    "value", ["0", "00", "01", "-1", "+1", "", " 1", "1 ", "1\n", "1.0", "0x1", str(MAX_ID + 1), "9" * 19, "1" * 20,
              "\u0661", "１"]
)
def test_any_other_path_id_names_no_row(value: str) -> None:
    assert path_id(value) is None


# whole-number query arguments (before, limit)


@pytest.mark.parametrize(("value", "number"), [("1", 1), ("100", 100), ("-5", -5), ("007", 7)])
def test_an_int_argument_is_a_whole_number_within_its_bounds(value: str, number: int) -> None:
    assert int_argument(value, "invalid_limit", 50, -10, 100) == number


def test_a_missing_int_argument_is_its_default() -> None:
    assert int_argument(None, "invalid_limit", 50, 1, 100) == 50


@pytest.mark.parametrize(
    "value", ["101", "-11", "", "abc", "1.5", "1e2", " 1", "1 ", "+1", "\u0661", "1" * 20, "9" * 19, "0x10"]
)
def test_any_other_int_argument_gets_the_arguments_code(value: str) -> None:
    assert refused_code(int_argument, value, "invalid_before", 50, -10, 100) == "invalid_before"


# the events timeout


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("60", 60.0), ("2.5", 2.5), ("0.000", 0.0), ("007", 7.0)])
def test_a_timeout_is_a_plain_decimal_from_0_to_the_maximum(value: str, seconds: float) -> None:
    assert timeout_argument(value, 30.0, 60.0) == seconds


def test_a_missing_timeout_is_the_default() -> None:
    assert timeout_argument(None, 30.0, 60.0) == 30.0


@pytest.mark.parametrize(
    "value", ["60.5", "61", "-1", "-0", "", ".5", "5.", "1e1", "nan", "inf", "1_0", " 1", "1 ", "\u0661", "１",
              "1" * 21]
)
def test_any_other_timeout_is_invalid_timeout(value: str) -> None:
    assert refused_code(timeout_argument, value, 30.0, 60.0) == "invalid_timeout"
