"""The domain's refusals: what storage and ``permissions`` raise when a rule says no."""

from __future__ import annotations


class Refused(Exception):
    """Base of the domain's refusals: each is answered with its own status and code (``web.base``)."""


class UsernameTaken(Refused):
    pass


class GroupExists(Refused):
    pass


class NoSuchGroup(Refused):
    pass


class NotMember(Refused):
    pass


class MessageNotFound(Refused):
    """No such message, or one the member may not see (from before their join, or deleted
    where the rule says so): the same answer, so a seq tells nothing."""


class NotAuthor(Refused):
    pass


class NotEditable(Refused):
    pass


class NotAllowed(Refused):
    pass


class TooManyReactions(Refused):
    pass


class Banned(Refused):
    """The user is banned from the group: they cannot join or be added."""


class CannotLeaveDirect(Refused):
    pass


class UserNotFound(Refused):
    pass


class MemberNotFound(Refused):
    pass


class SessionGone(Refused):
    """The session a request came with was signed out while it ran."""
