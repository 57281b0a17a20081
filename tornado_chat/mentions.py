"""Who a text mentions: ``@username`` as a whole word (PLACEHOLDER until i13-text lands)."""

from __future__ import annotations

import re

_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,32})(?!\w)")


def mentioned_names(text: str) -> list[str]:
    """The distinct names mentioned, lower-cased, in order of first appearance."""
    return list(dict.fromkeys(m.lower() for m in _MENTION.findall(text)))
