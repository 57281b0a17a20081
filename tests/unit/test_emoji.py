"""The ``{emoji}`` of a reaction: which strings are one emoji (and the form stored for
each), which are refused with ``invalid_emoji``, and that no string costs much to refuse."""

from __future__ import annotations

import unicodedata

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

from tornado_chat import validation
from tornado_chat.validation import EMOJI_MAX_CODE_POINTS, Invalid, emoji

VS15, VS16, ZWJ, KEYCAP, CANCEL_TAG = "\ufe0e", "\ufe0f", "\u200d", "\u20e3", "\U000e007f"
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074" + CANCEL_TAG

# (given, stored): already in the canonical (fully-qualified) form, stored as given
CANONICAL = [
    pytest.param("👍", id="thumbs-up"),
    pytest.param("😀", id="grinning-face"),
    pytest.param("❤" + VS16, id="red-heart-with-vs16"),
    pytest.param("👍🏽", id="skin-tone-modifier"),
    pytest.param("☝🏽", id="text-default-base-with-modifier-takes-no-vs16"),
    pytest.param("👨‍👩‍👧", id="zwj-family"),
    pytest.param("🏳" + VS16 + ZWJ + "🌈", id="zwj-rainbow-flag"),
    pytest.param("🧑🏻‍❤️‍💋‍🧑🏼", id="zwj-kiss-with-two-skin-tones-10-code-points"),
    pytest.param("👨‍🦰", id="zwj-with-hair-component"),
    pytest.param("🐦‍🔥", id="zwj-phoenix-emoji-15-1"),
    pytest.param("🇧🇷", id="flag-pair"),
    pytest.param(SCOTLAND, id="tag-sequence-scotland"),
    pytest.param("1" + VS16 + KEYCAP, id="keycap-one"),
    pytest.param("#" + VS16 + KEYCAP, id="keycap-hash"),
    pytest.param("🫠", id="melting-face-emoji-14"),
    pytest.param("🫶🏼", id="heart-hands-with-tone-emoji-14"),
    pytest.param("🫨", id="shaking-face-emoji-15"),
    pytest.param("\U0001fae9", id="face-with-bags-under-eyes-emoji-16"),
    pytest.param("🦲", id="hair-component-alone-is-a-pictograph"),
    pytest.param("™" + VS16, id="trade-mark-as-emoji"),
]

# given -> stored: the same emoji without or with a redundant VS16 is the same reaction
QUALIFIED = [
    pytest.param("❤", "❤" + VS16, id="red-heart-without-vs16-gets-it"),
    pytest.param("☺", "☺" + VS16, id="smiling-face-without-vs16-gets-it"),
    pytest.param("🏳" + ZWJ + "🌈", "🏳" + VS16 + ZWJ + "🌈", id="zwj-element-without-vs16-gets-it"),
    pytest.param("👁‍🗨", "👁️‍🗨️", id="both-zwj-elements-get-vs16"),
    pytest.param("1" + KEYCAP, "1" + VS16 + KEYCAP, id="keycap-without-vs16-gets-it"),
    pytest.param("👍" + VS16, "👍", id="emoji-default-loses-redundant-vs16"),
    pytest.param("⌚" + VS16, "⌚", id="watch-emoji-default-loses-vs16"),
]

REFUSED = [
    pytest.param("", id="empty"),
    pytest.param("👍👍", id="two-emoji"),
    pytest.param("👍a", id="emoji-and-letter"),
    pytest.param("a", id="letter"),
    pytest.param("A", id="capital"),
    pytest.param("é", id="accented-letter"),
    pytest.param("?", id="punctuation"),
    pytest.param("+1", id="plus-one"),
    pytest.param("1", id="digit-alone"),
    pytest.param("#", id="hash-alone"),
    pytest.param("*", id="asterisk-alone"),
    pytest.param("1" + VS16, id="digit-with-vs16-but-no-keycap"),
    pytest.param(KEYCAP, id="lone-keycap-mark"),
    pytest.param("a" + VS16 + KEYCAP, id="keycap-on-a-letter"),
    pytest.param("🏽", id="lone-skin-tone"),
    pytest.param("😀🏽", id="skin-tone-on-a-non-base"),
    pytest.param("👍🏽🏽", id="two-skin-tones"),
    pytest.param("☝" + VS16 + "🏽", id="vs16-between-base-and-skin-tone"),
    pytest.param(ZWJ, id="lone-zwj"),
    pytest.param(VS16, id="lone-vs16"),
    pytest.param(VS15, id="lone-vs15"),
    pytest.param("❤" + VS15, id="text-presentation-selector"),
    pytest.param("❤" + VS16 + VS16, id="two-vs16"),
    pytest.param("🇧", id="lone-regional-indicator"),
    pytest.param("🇧🇷🇧", id="three-regional-indicators"),
    pytest.param("🇧🇷🇧🇷", id="two-flags"),
    pytest.param("\U000e0067\U000e0062" + CANCEL_TAG, id="tags-without-a-base"),
    pytest.param(CANCEL_TAG, id="lone-cancel-tag"),
    pytest.param("🏴\U000e0067\U000e0062", id="tag-sequence-without-cancel-tag"),
    pytest.param("🏴" + CANCEL_TAG, id="tag-sequence-without-tags"),
    pytest.param("👍" + ZWJ, id="zwj-at-the-end"),
    pytest.param(ZWJ + "👍", id="zwj-at-the-start"),
    pytest.param("👍" + ZWJ + ZWJ + "👍", id="two-zwj-in-a-row"),
    pytest.param("👍" + ZWJ + "a", id="zwj-to-a-letter"),
    pytest.param("a" + ZWJ + "👍", id="zwj-from-a-letter"),
    pytest.param("👍" + ZWJ + "1", id="zwj-to-a-digit"),
    pytest.param("👍" + ZWJ + "🇧🇷", id="zwj-to-a-flag"),
    pytest.param("👍\u0301", id="combining-mark-on-an-emoji"),
    pytest.param("👍\u20dd", id="enclosing-circle-on-an-emoji"),
    pytest.param("\ud83d", id="lone-high-surrogate"),
    pytest.param("\ud83d\udc4d", id="surrogate-pair-as-two-code-points"),
    pytest.param("\udc4d", id="lone-low-surrogate"),
    pytest.param("\x00", id="nul"),
    pytest.param("👍\x00", id="emoji-then-nul"),
    pytest.param("\x1b", id="escape-control"),
    pytest.param("\u0085", id="next-line-control"),
    pytest.param("\u202e👍", id="bidi-override"),
    pytest.param(" 👍", id="space-before"),
    pytest.param("👍 ", id="space-after"),
    pytest.param("👍\n", id="newline-after"),
    pytest.param("\u3000👍", id="ideographic-space-before"),
    pytest.param("\ufeff👍", id="byte-order-mark-before"),
    pytest.param("%F0%9F%91%8D", id="still-url-encoded"),
    pytest.param(":thumbsup:", id="shortcode"),
    pytest.param("\U0001faff", id="unassigned-in-a-pictographic-block"),
    pytest.param("\U0010ffff", id="noncharacter"),
    pytest.param("👍" + ZWJ * (EMOJI_MAX_CODE_POINTS - 1), id="zwj-run-at-the-length-limit"),
    pytest.param((ZWJ.join(["👍"] * 17)), id="zwj-sequence-over-the-length-limit"),
    pytest.param("👍" * 64, id="64-emoji"),
    pytest.param("👍" * EMOJI_MAX_CODE_POINTS, id="32-emoji"),
    pytest.param("x" * 257, id="257-letters"),
]


def refused_code(raw: str) -> str:
    with pytest.raises(Invalid) as refused:
        emoji(raw)
    return refused.value.code


@pytest.mark.parametrize("raw", CANONICAL)
def test_one_emoji_in_its_fully_qualified_form_is_stored_as_given(raw: str) -> None:
    assert emoji(raw) == raw


@pytest.mark.parametrize(("raw", "stored"), QUALIFIED)
def test_an_emoji_without_or_with_a_redundant_vs16_is_stored_fully_qualified(raw: str, stored: str) -> None:
    assert emoji(raw) == stored


def test_the_heart_with_and_without_vs16_is_one_reaction() -> None:
    assert emoji("❤") == emoji("❤" + VS16)


@pytest.mark.parametrize("raw", REFUSED)
def test_anything_else_is_invalid_emoji(raw: str) -> None:
    assert refused_code(raw) == "invalid_emoji"


def test_any_regional_indicator_pair_is_a_flag_whether_or_not_a_region_has_it() -> None:
    """UTS #51 makes any pair a flag sequence; which ones name a region is the font's business."""
    assert emoji("🇦🇦") == "🇦🇦"


def test_a_zwj_sequence_of_pictographs_is_one_emoji_even_when_no_vendor_draws_it() -> None:
    """The grammar, not Unicode's recommended list: no upgrade is needed for new sequences."""
    assert emoji("😀‍😀") == "😀‍😀"


@pytest.mark.parametrize("raw", [*CANONICAL, *(case.values[0] for case in QUALIFIED)])
def test_every_accepted_emoji_is_one_grapheme_that_nfc_leaves_alone(raw: str) -> None:
    stored = emoji(raw)
    assert len(regex.findall(r"\X", stored)) == 1
    assert unicodedata.normalize("NFC", stored) == stored


@pytest.mark.parametrize("raw", [*CANONICAL, *(case.values[0] for case in QUALIFIED)])
def test_the_stored_form_is_its_own_stored_form(raw: str) -> None:
    assert emoji(emoji(raw)) == emoji(raw)


def test_an_emoji_is_at_most_32_code_points() -> None:
    longest = ZWJ.join(["👍🏽"] * 11)
    assert len(longest) == EMOJI_MAX_CODE_POINTS == 32
    assert emoji(longest) == longest
    assert refused_code(longest + ZWJ + "👍") == "invalid_emoji"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("👍" * 1_000_000, id="1M-emoji"),
        pytest.param(ZWJ.join(["👍"] * 500_000), id="1M-code-point-zwj-sequence-the-grammar-would-read-whole"),
        pytest.param("a" * (1 << 20), id="1MiB-letters"),
        pytest.param("\ud800" * 1_000_000, id="1M-lone-surrogates"),
    ],
)
def test_a_long_string_is_refused_before_any_work(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused by its length alone: the grammar never reads it (bench/text_rules.py times it)."""

    class Untouchable:
        def fullmatch(self, text: str) -> None:
            raise AssertionError("the grammar read a string the length check should have refused")

    monkeypatch.setattr(validation, "EMOJI_RE", Untouchable())
    assert refused_code(raw) == "invalid_emoji"


EMOJI_PARTS = st.sampled_from(
    ["👍", "❤", "🏽", "🏳", "🌈", "🇧", "🏴", "1", "#", "a", " ", "\x00", "\ud800", "\u0301",
     VS15, VS16, ZWJ, KEYCAP, CANCEL_TAG, "\U000e0067"]
)
ANY_TEXT = st.one_of(st.text(), st.lists(EMOJI_PARTS, max_size=8).map("".join))


@given(ANY_TEXT)
def test_any_text_is_an_emoji_or_invalid_emoji_and_never_anything_else(raw: str) -> None:
    try:
        stored = emoji(raw)
    except Invalid as refused:
        assert refused.code == "invalid_emoji"
    else:
        assert len(regex.findall(r"\X", stored)) == 1
        assert emoji(stored) == stored
        assert stored.replace(VS16, "") == raw.replace(VS16, "")
