"""Who may do what in a group: the one table the service asks, and nowhere else.

A caller stands to a group in one of these ways: a member with a role (``owner``,
``moderator``, ``member``), or not a member (maybe banned). Two rules sit above the table:

- a private or direct group does not exist for anyone who is not its member: every route
  answers them ``404 group_not_found``, exactly as for a group that does not exist;
- a public group's non-member gets ``403 not_member`` for what needs membership.

Storage reads the caller's standing inside the transaction that acts (so a check and its
write see the same rows) and asks ``require`` before it writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .errors import Banned, CannotLeaveDirect, NoSuchGroup, NotAllowed, NotMember

OWNER, MODERATOR, MEMBER = "owner", "moderator", "member"
PUBLIC, PRIVATE, DIRECT = "public", "private", "direct"
KINDS_MADE_BY_NAME = (PUBLIC, PRIVATE)  # a direct group is made by PUT /api/direct/{username}
ROLES_GIVEN = (MODERATOR, MEMBER)  # the owner is made only by creating a group, or by succession


class Action(Enum):
    READ = "read"  # history, online list, members list, typing, sending, reacting
    JOIN = "join"
    LEAVE = "leave"
    ADD_MEMBER = "add_member"
    SET_ROLE = "set_role"
    REMOVE = "remove"  # also banning and lifting a ban
    EDIT_GROUP = "edit_group"  # name and topic
    DELETE_ANY_MESSAGE = "delete_any_message"


_STAFF = frozenset({OWNER, MODERATOR})
_ANY_MEMBER = frozenset({OWNER, MODERATOR, MEMBER})
_NOBODY: frozenset[str] = frozenset()
# (action, kind) -> the roles that may. JOIN is asked of non-members (role None), below.
RULES: dict[tuple[Action, str], frozenset[str]] = {
    **{(Action.READ, kind): _ANY_MEMBER for kind in (PUBLIC, PRIVATE, DIRECT)},
    **{(Action.LEAVE, kind): _ANY_MEMBER for kind in (PUBLIC, PRIVATE)},
    (Action.LEAVE, DIRECT): _NOBODY,
    (Action.ADD_MEMBER, PUBLIC): _ANY_MEMBER,
    (Action.ADD_MEMBER, PRIVATE): _STAFF,
    (Action.ADD_MEMBER, DIRECT): _NOBODY,
    **{(Action.SET_ROLE, kind): frozenset({OWNER}) for kind in (PUBLIC, PRIVATE)},
    **{(Action.REMOVE, kind): _STAFF for kind in (PUBLIC, PRIVATE)},
    **{(Action.EDIT_GROUP, kind): _STAFF for kind in (PUBLIC, PRIVATE)},
    **{(Action.DELETE_ANY_MESSAGE, kind): _STAFF for kind in (PUBLIC, PRIVATE)},
    (Action.SET_ROLE, DIRECT): _NOBODY,
    (Action.REMOVE, DIRECT): _NOBODY,
    (Action.EDIT_GROUP, DIRECT): _NOBODY,
    (Action.DELETE_ANY_MESSAGE, DIRECT): _NOBODY,
}


# A refusal with a code of its own, where "not allowed" would not tell the client what to do.
_REFUSALS = {(Action.LEAVE, DIRECT): CannotLeaveDirect}


@dataclass(frozen=True, slots=True)
class Standing:
    """How a user stands to a group: its kind, their role (None: not a member), whether banned."""

    kind: str
    role: str | None
    banned: bool = False

    @property
    def hidden(self) -> bool:
        """A group this user may not know of."""
        return self.role is None and self.kind != PUBLIC


def allowed(standing: Standing, action: Action) -> bool:
    if action is Action.JOIN:
        return standing.kind == PUBLIC and standing.role is None and not standing.banned
    return standing.role in RULES[(action, standing.kind)]


def require(group_id: int, standing: Standing, action: Action) -> None:
    """Raise the contract's refusal unless the standing allows the action: NoSuchGroup for a
    group the user may not know of, NotMember for a public group's non-member, Banned for a
    banned user who would join, NotAllowed for a member whose role does not allow it."""
    if standing.hidden:
        raise NoSuchGroup(group_id)
    if action is Action.JOIN:
        if standing.banned:
            raise Banned(group_id)
        return
    if standing.role is None:
        raise NotMember(group_id)
    if not allowed(standing, action):
        raise _REFUSALS.get((action, standing.kind), NotAllowed)(group_id)


def may_remove(remover_role: str, target_role: str) -> bool:
    """The owner removes anyone else; a moderator removes plain members only."""
    return remover_role == OWNER and target_role != OWNER or remover_role == MODERATOR and target_role == MEMBER
