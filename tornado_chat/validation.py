"""The contract's rules for input: each returns the clean value or raises ``Invalid``.

Every rule here has a test; a rule broken is a 400 with the rule's error
code, before anything is stored.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

import regex
from cryptography.hazmat.primitives.asymmetric import ec

from . import permissions
from .models import NOTIFY_LEVELS

USERNAME_RE = re.compile(r"[A-Za-z0-9_]{3,32}\Z")
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 1024
GROUP_NAME_MAX_CHARS = 64
TEXT_MAX_CHARS = 4000
CLIENT_ID_MAX_CHARS = 64
TOPIC_MAX_CHARS = 250
SEARCH_MAX_CHARS = 200
SEARCH_WORD = re.compile(r"\w+")  # letters, digits and '_' of any script: InnoDB's full-text words
MAX_ID = 2**63 - 1
ID_RE = re.compile(r"[1-9][0-9]{0,18}\Z")
DECIMAL_RE = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
# The longest emoji in Unicode's recommended set (a kiss with two skin tones) is 10 code
# points; 32 leaves room for longer ones to come and still bounds the work and the column.
EMOJI_MAX_CODE_POINTS = 32

# One emoji, as UTS #51 (ED-14 to ED-17) spells its sequences, read with the `regex`
# package's Unicode data (newer than this Python's `unicodedata`: new emoji need no Python
# upgrade). A pictograph is a code point with both Emoji and Extended_Pictographic: every
# Emoji code point but the components (0-9 # *, the skin-tone modifiers, the regional
# indicators), which are emoji only inside a sequence; the hair components (🦰 🦱 🦳 🦲) are
# pictographs, drawn alone too. No U+FE0E anywhere: it asks for the character as text.
# Every string this matches is one extended grapheme cluster.
_EMOJI_ELEMENT = r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}|[\p{Emoji}&&\p{Extended_Pictographic}]\uFE0F?)"
EMOJI_RE = regex.compile(
    rf"""
      {_EMOJI_ELEMENT} (?: \u200D {_EMOJI_ELEMENT} )*         # a pictograph, or a ZWJ sequence of them
    | {_EMOJI_ELEMENT} [\U000E0020-\U000E007E]+ \U000E007F  # a tag sequence (a subdivision's flag)
    | [0-9\#*] \uFE0F? \u20E3                              # a keycap
    | \p{{Regional_Indicator}}{{2}}                          # a flag
    """,
    regex.VERSION1 | regex.VERBOSE,
)
# The stored form is the fully-qualified one of Unicode's emoji-test.txt, so that ❤ and ❤️
# are one reaction: an emoji drawn as text by default gets U+FE0F (unless a skin tone
# follows it), one drawn as emoji by default does not.
_EMOJI_SELECTOR_NEEDED = regex.compile(r"([\p{Emoji}--\p{Emoji_Presentation}])(?![\uFE0F\p{Emoji_Modifier}])", regex.V1)
_EMOJI_SELECTOR_REDUNDANT = regex.compile(r"(\p{Emoji_Presentation})\uFE0F")


class Invalid(ValueError):
    """A broken rule: ``code`` for programs, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _encodable(value: str) -> bool:
    """False for lone surrogates, which JSON allows but UTF-8 (and MySQL) cannot hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def username(value: Any) -> str:
    if not isinstance(value, str) or not USERNAME_RE.match(value):
        raise Invalid("invalid_username", "username must be 3-32 ASCII letters, digits or _")
    return value


def password(value: Any) -> str:
    if not isinstance(value, str) or not _encodable(value):
        raise Invalid("invalid_password", "password must be a string of text")
    if len(value) < PASSWORD_MIN_CHARS:
        raise Invalid("invalid_password", f"password must have at least {PASSWORD_MIN_CHARS} characters")
    if len(value) > PASSWORD_MAX_CHARS:
        raise Invalid("invalid_password", f"password must have at most {PASSWORD_MAX_CHARS} characters")
    return value


def sign_in_field(value: Any, code: str, name: str) -> str:
    """A username or password given to sign in: any text, since a wrong one is the 401's
    business; but text that UTF-8 cannot hold (a lone surrogate) can be no one's."""
    if not isinstance(value, str) or not _encodable(value):
        raise Invalid(code, f"{name} must be a string of text")
    return value


def group_name(value: Any) -> tuple[str, str]:
    """The trimmed name, and the key that makes names unique regardless of case."""
    if not isinstance(value, str) or not _encodable(value):
        raise Invalid("invalid_name", "name must be a string of text")
    name = value.strip()
    if not 1 <= len(name) <= GROUP_NAME_MAX_CHARS:
        raise Invalid("invalid_name", f"name must have 1-{GROUP_NAME_MAX_CHARS} characters after trimming")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise Invalid("invalid_name", "name must not contain control characters")
    return name, unicodedata.normalize("NFC", name).casefold()


def group_kind(value: Any) -> str:
    """The kind of a group made by name: public (the default) or private."""
    if value is None:
        return permissions.PUBLIC
    if value not in permissions.KINDS_MADE_BY_NAME:
        raise Invalid("invalid_kind", "kind must be \"public\" or \"private\"")
    return value


def topic(value: Any) -> str:
    """A group's topic: trimmed text of 0-250 characters, one line."""
    if not isinstance(value, str) or not _encodable(value):
        raise Invalid("invalid_topic", "topic must be a string of text")
    text = value.strip()
    if len(text) > TOPIC_MAX_CHARS:
        raise Invalid("invalid_topic", f"topic must have at most {TOPIC_MAX_CHARS} characters after trimming")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise Invalid("invalid_topic", "topic must not contain control characters")
    return text


def notify_level(value: Any) -> str:
    if value not in NOTIFY_LEVELS:
        raise Invalid("invalid_notify", "notify must be \"all\", \"mentions\" or \"none\"")
    return value


def read_seq(value: Any) -> int:
    """A seq read up to: a non-negative integer (JSON's true and false are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise Invalid("invalid_seq", "seq must be a non-negative integer")
    return value


def search_words(value: str | None) -> list[str]:
    """The words of a search: runs of letters, digits and ``_`` (any script), in order, each once. A
    query is 1-200 characters with at least one word, else ``invalid_query``."""
    if value is None or not 1 <= len(value) <= SEARCH_MAX_CHARS or not _encodable(value):
        raise Invalid("invalid_query", f"q must have 1-{SEARCH_MAX_CHARS} characters")
    words = list(dict.fromkeys(w.casefold() for w in SEARCH_WORD.findall(value)))
    if not words:
        raise Invalid("invalid_query", "q must have at least one word")
    return words


def role(value: Any) -> str:
    if value not in permissions.ROLES_GIVEN:
        raise Invalid("invalid_role", "role must be \"moderator\" or \"member\"")
    return value


def flag(value: str | None, code: str) -> bool:
    """A yes/no query argument: true/false or 1/0, absent is false."""
    if value is None:
        return False
    if value.lower() not in ("true", "false", "1", "0"):
        raise Invalid(code, "must be true or false")
    return value.lower() in ("true", "1")


def message_text(value: Any) -> str:
    if not isinstance(value, str) or not _encodable(value):
        raise Invalid("invalid_text", "text must be a string of text")
    text = value.strip()
    if not 1 <= len(text) <= TEXT_MAX_CHARS:
        raise Invalid("invalid_text", f"text must have 1-{TEXT_MAX_CHARS} characters after trimming")
    if "\x00" in text:
        raise Invalid("invalid_text", "text must not contain NUL characters")
    return text


def client_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= CLIENT_ID_MAX_CHARS or not _encodable(value):
        raise Invalid("invalid_client_id", f"client_id must be a string of 1-{CLIENT_ID_MAX_CHARS} characters")
    return value


def path_id(value: str) -> int | None:
    """A positive id from a URL path, or None for anything that cannot name a row."""
    if not ID_RE.match(value):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def int_argument(value: str | None, code: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,19}", value) or not low <= int(value) <= high:
        raise Invalid(code, f"must be a whole number from {low} to {high}")
    return int(value)


def timeout_argument(value: str | None, default: float, high: float) -> float:
    if value is None:
        return default
    # plain ASCII decimals only: float() would also take "١", "1_0", "-0", "1e1" and "nan"
    seconds = float(value) if DECIMAL_RE.fullmatch(value) else -1.0
    if not 0 <= seconds <= high:
        raise Invalid("invalid_timeout", f"timeout must be a number of seconds from 0 to {high:g}")
    return seconds


def reply_to(value: Any) -> int | None:
    """The seq a message answers: an integer (JSON ``true`` is not one). One that names no
    message the sender may see is the store's ``message_not_found``, not a broken rule."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("invalid_reply_to", "reply_to must be the seq (an integer) of a message")
    return value if 0 < value <= MAX_ID else 0


def reply_to_field(value: bytes | None) -> int | None:
    """``reply_to`` as a multipart form field: a decimal integer in ASCII."""
    if value is None:
        return None
    if not re.fullmatch(rb"-?[0-9]{1,400}", value):
        raise Invalid("invalid_reply_to", "reply_to must be the seq (an integer) of a message")
    return reply_to(int(value))


def emoji(raw: str) -> str:
    """The ``{emoji}`` of a reaction's path, in the one form that is stored and compared.

    One emoji: a pictograph, alone or with U+FE0F, with a skin tone, in a ZWJ sequence or
    with tags, or a keycap, or a pair of regional indicators (any pair: which regions
    exist is for the font to know). ``❤`` and ``❤️`` (and ``1⃣`` and ``1️⃣``) are one
    reaction, so both are accepted and stored fully qualified; ``❤︎`` (U+FE0E, "as text")
    is refused. The length is checked first, so any string, however long, costs
    microseconds; lone surrogates and control characters match no emoji.
    """
    if len(raw) > EMOJI_MAX_CODE_POINTS or not EMOJI_RE.fullmatch(raw):
        raise Invalid("invalid_emoji", "emoji must be one emoji, such as 👍, ❤️ or 👍🏽")
    return _EMOJI_SELECTOR_NEEDED.sub("\\1\ufe0f", _EMOJI_SELECTOR_REDUNDANT.sub("\\1", raw))


# Web Push subscriptions: PushSubscription.toJSON() of a browser.
ENDPOINT_MAX_CHARS = 1000
ENDPOINT_RE = re.compile(rf"[\x21-\x7e]{{1,{ENDPOINT_MAX_CHARS}}}\Z")  # printable ASCII, no spaces
P256DH_BYTES = 65  # an uncompressed P-256 point
AUTH_BYTES = 16
_BASE64URL_RE = re.compile(r"[A-Za-z0-9_-]+={0,2}\Z")


def _subscription_invalid(why: str) -> Invalid:
    return Invalid("invalid_subscription", why)


def push_endpoint(value: Any) -> str:
    """An endpoint as a string of printable ASCII (to unsubscribe: whether it is allowed does not matter)."""
    if not isinstance(value, str) or not ENDPOINT_RE.match(value):
        raise _subscription_invalid(f"endpoint must be a URL of at most {ENDPOINT_MAX_CHARS} ASCII characters")
    return value


def endpoint_allowed(endpoint: str, allowed: tuple[str, ...]) -> bool:
    """Whether ``endpoint`` starts with one of the ``allowed`` prefixes; a prefix whose host starts
    with ``*.`` allows every subdomain of the rest (``https://*.notify.windows.com/``)."""
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return False
    if parts.scheme not in ("https", "http") or not parts.hostname or "@" in parts.netloc:
        return False
    for prefix in allowed:
        rule = urlsplit(prefix)
        if rule.netloc.startswith("*."):
            suffix = rule.netloc[1:].lower()  # ".notify.windows.com"
            if (parts.scheme == rule.scheme and parts.netloc.lower().endswith(suffix)
                    and len(parts.netloc) > len(suffix) and parts.path.startswith(rule.path or "/")):
                return True
        elif endpoint.startswith(prefix):
            return True
    return False


def _key_bytes(value: Any, name: str, size: int) -> bytes:
    if not isinstance(value, str) or not _BASE64URL_RE.match(value):
        raise _subscription_invalid(f"keys.{name} must be base64url")
    try:
        raw = base64url_decode(value.rstrip("="))
    except ValueError:
        raise _subscription_invalid(f"keys.{name} must be base64url") from None
    if len(raw) != size:
        raise _subscription_invalid(f"keys.{name} must be {size} bytes")
    return raw


def push_subscription(body: dict[str, Any], allowed: tuple[str, ...]) -> tuple[str, str, str]:
    """``{"endpoint", "keys": {"p256dh", "auth"}}`` as (endpoint, p256dh, auth), the keys
    base64url without padding; the endpoint must start with an allowed prefix, and p256dh must
    be a point of P-256."""
    endpoint = push_endpoint(body.get("endpoint"))
    if not endpoint_allowed(endpoint, allowed):
        raise _subscription_invalid("this push service is not allowed here")
    keys = body.get("keys")
    if not isinstance(keys, dict):
        raise _subscription_invalid("keys must be an object with p256dh and auth")
    p256dh = _key_bytes(keys.get("p256dh"), "p256dh", P256DH_BYTES)
    auth = _key_bytes(keys.get("auth"), "auth", AUTH_BYTES)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        raise _subscription_invalid("keys.p256dh is not a point of P-256") from None
    return endpoint, base64url(p256dh), base64url(auth)


def base64url(raw: bytes) -> str:
    """Web Push's encoding of keys: base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def base64url_decode(text: str) -> bytes:
    """``base64url``'s bytes back (its padding put back first)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
