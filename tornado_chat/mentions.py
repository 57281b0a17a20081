"""Who a text message mentions: the parse of ``@username``; the caller keeps the members.

The contract: "``@username`` (any case, a whole word) in a text message mentions that
user if they are a member of the group then". A whole word, here:

- the ``@`` starts the text or follows a character that is neither a word character nor
  another ``@``: ``email@ana.com`` is an address, and in ``@bo@ana.social`` (a handle on
  another server) ``ana`` is no one here; so ``@@ana`` mentions no one either;
- the name is 3 to 32 of ``[A-Za-z0-9_]`` (a username's characters) and ends the word:
  what follows is the end, or a character that is neither a word character nor ``@``,
  and not a ``.`` that a word character follows (``@ana.com`` is a domain, ``@ana.`` ends
  a sentence). ``@ana_b`` is ``ana_b``, not ``ana``; ``@ana's`` and ``@ana-ish`` are
  ``ana``: an apostrophe or a hyphen ends the word, since no username has one;
- nothing in a URL (from ``scheme://`` to the next space) is a mention: ``@ana`` in
  ``https://x.org/@ana`` names a page, not someone in the group (a bare ``x.org/@ana``
  has no scheme, and is read as text).

Word characters are Unicode's (the ``regex`` package's ``\\w``: letters, digits, marks and
joiners of any script), so ``@anaé`` and ``é@ana`` are neither ``ana``. The work is
linear in the text: every alternative starts at a place a single character decides
(a run's start, an ``@``) and reads a bounded or consumed stretch.
"""

from __future__ import annotations

import regex

MENTION_RE = regex.compile(
    r"""
    (?<![A-Za-z0-9+.\-]) [A-Za-z][A-Za-z0-9+.\-]*+ :// \S*+  # a URL, skipped whole
    | (?<![\w@]) @ ([A-Za-z0-9_]{3,32}+) (?![\w@]|\.\w)      # a mention
    """,
    regex.VERBOSE,
)


def mentioned_names(text: str) -> list[str]:
    """The usernames ``text`` mentions, lowercased (a mention is in any case), each once, in
    the order of their first mention; whether each is a member is the caller's question."""
    names = (match.group(1) for match in MENTION_RE.finditer(text) if match.group(1))
    return list(dict.fromkeys(name.lower() for name in names))
