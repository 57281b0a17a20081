"""Who a text mentions: ``@username`` as a whole word, lowercased, each once, in order;
never inside an address, a handle on another server or a URL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tornado_chat.mentions import mentioned_names
from tornado_chat.validation import TEXT_MAX_CHARS, USERNAME_RE


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("@ana", id="alone"),
        pytest.param("@ana hello", id="at-the-start"),
        pytest.param("hello @ana", id="at-the-end"),
        pytest.param("hi\n@ana\tthere", id="between-newline-and-tab"),
        pytest.param("(@ana)", id="in-parentheses"),
        pytest.param('"@ana"', id="in-quotes"),
        pytest.param("«@ana»", id="in-guillemets"),
        pytest.param("bob,@ana", id="after-a-comma"),
        pytest.param("@ana.", id="full-stop"),
        pytest.param("@ana...", id="ellipsis"),
        pytest.param("@ana,", id="comma"),
        pytest.param("@ana!", id="exclamation"),
        pytest.param("@ana?", id="question"),
        pytest.param("@ana:", id="colon"),
        pytest.param("@ana's", id="apostrophe"),
        pytest.param("@ana\u2019s", id="typographic-apostrophe"),
        pytest.param("@ana-ish", id="hyphen"),
        pytest.param("@ana/@bob", id="slash-between-two"),
        pytest.param("@ana 👍", id="before-an-emoji"),
        pytest.param("👍@ana", id="after-an-emoji"),
        pytest.param("@ANA", id="upper-case"),
        pytest.param("@aNa", id="mixed-case"),
    ],
)
def test_at_username_as_a_whole_word_mentions_them_lowercased(text: str) -> None:
    assert mentioned_names(text)[:1] == ["ana"]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param("@ana_b", ["ana_b"], id="underscore-is-part-of-the-name"),
        pytest.param("@ana9", ["ana9"], id="digit-is-part-of-the-name"),
        pytest.param("@123", ["123"], id="all-digits"),
        pytest.param("@___", ["___"], id="all-underscores"),
        pytest.param("@" + "a" * 32, ["a" * 32], id="32-characters"),
    ],
)
def test_the_name_is_the_whole_word_of_username_characters(text: str, names: list[str]) -> None:
    assert mentioned_names(text) == names


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("ana", id="no-at"),
        pytest.param("@", id="lone-at"),
        pytest.param("@ ana", id="space-after-at"),
        pytest.param("@an", id="too-short"),
        pytest.param("@" + "a" * 33, id="too-long"),
        pytest.param("email@ana.com", id="email-address"),
        pytest.param("ana@bob", id="after-a-word"),
        pytest.param("_@ana", id="after-an-underscore"),
        pytest.param("é@ana", id="after-a-non-ascii-letter"),
        pytest.param("e\u0301@ana", id="after-a-combining-mark"),
        pytest.param("@anaé", id="followed-by-a-non-ascii-letter"),
        pytest.param("@ana\u0301", id="followed-by-a-combining-mark"),
        pytest.param("@ana.com", id="a-domain"),
        pytest.param("@ana.b", id="full-stop-then-a-letter"),
        pytest.param("@bob@mastodon.social", id="handle-on-another-server"),
        pytest.param("@@ana", id="doubled-at"),
        pytest.param("@ａｎａ", id="fullwidth-letters"),
        pytest.param("@anä", id="non-ascii-letter-in-the-name"),
        pytest.param("https://x.org/@ana", id="in-a-url-path"),
        pytest.param("see https://x.org/users/@ana, ok", id="in-a-url-in-a-sentence"),
        pytest.param("https://x.org/?to=@ana", id="in-a-url-query"),
        pytest.param("(http://@ana.x.org)", id="in-a-url-host"),
        pytest.param("hTTps://x.org/@ana", id="in-a-url-with-a-mixed-case-scheme"),
        pytest.param("git+ssh://x.org/@ana", id="in-a-url-with-a-compound-scheme"),
    ],
)
def test_anything_else_mentions_no_one(text: str) -> None:
    assert mentioned_names(text) == []


def test_a_bare_host_and_path_without_a_scheme_is_read_as_text() -> None:
    assert mentioned_names("x.org/@ana") == ["ana"]


def test_a_url_ends_at_whitespace() -> None:
    assert mentioned_names("https://x.org/@bob @ana") == ["ana"]


def test_a_mention_just_before_a_url_counts() -> None:
    assert mentioned_names("@ana https://x.org/@bob") == ["ana"]


def test_each_name_once_in_the_order_of_its_first_mention() -> None:
    assert mentioned_names("@Bob, @ana and @BOB; @cid @ana") == ["bob", "ana", "cid"]


def test_names_of_no_one_are_returned_for_the_caller_to_check_membership() -> None:
    assert mentioned_names("@nobody_here") == ["nobody_here"]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param("@" * TEXT_MAX_CHARS, [], id="all-at-signs"),
        pytest.param("@a" * (TEXT_MAX_CHARS // 2), [], id="at-and-letter"),
        pytest.param("@abc " * (TEXT_MAX_CHARS // 5), ["abc"], id="800-mentions"),
        pytest.param("@" + "a" * (TEXT_MAX_CHARS - 1), [], id="one-overlong-name"),
        pytest.param("a" * TEXT_MAX_CHARS, [], id="one-long-word"),
        pytest.param("a." * (TEXT_MAX_CHARS // 2), [], id="scheme-characters"),
        pytest.param("a://" * (TEXT_MAX_CHARS // 4), [], id="url-after-url"),
        pytest.param(("@" + "a" * 33 + " ") * (TEXT_MAX_CHARS // 35), [], id="overlong-names"),
    ],
)
def test_the_longest_hostile_texts_mention_exactly_who_they_name(text: str, names: list[str]) -> None:
    """How long these take is bench/text_rules.py's to measure; here, what they give."""
    assert mentioned_names(text) == names


MENTION_PARTS = st.sampled_from(
    ["@", "@@", "ana", "Bob", "_", "9", "x" * 30, ".", ",", "'", "/", ":", "://", "https", " ", "\n", "é", "\u0301"]
)


@given(st.one_of(st.text(), st.lists(MENTION_PARTS, max_size=20).map("".join)))
def test_every_name_is_a_lowercased_username_that_follows_an_at_in_the_text(text: str) -> None:
    names = mentioned_names(text)
    assert len(names) == len(set(names))
    for name in names:
        assert USERNAME_RE.match(name)
        assert name == name.lower()
        assert "@" + name in text.lower()
