// What a group is called on the page and what its reader may do in it (issue 15).
// A direct conversation is named after the other person (`peer.username`); the
// rest follows the server's permission table (docs: "Private groups, direct
// messages, roles"), so that a control shows only to those whose press would
// succeed. No DOM, no HTTP.

export const isDirect = (group) => group?.kind === "direct";

// The name shown for a group: a direct conversation's is the other person's.
export function displayName(group) {
  return isDirect(group) ? group.peer?.username || group.name : group.name;
}

const RANK = { owner: 0, moderator: 1, member: 2 };
export const byRole = (a, b) => (RANK[a.role] ?? 3) - (RANK[b.role] ?? 3) || a.user.username.localeCompare(b.user.username);

const managing = (group) => group?.role === "owner" || group?.role === "moderator";

// The group as a whole: add people, rename it or change its topic.
export function mayAdd(group) {
  if (!group?.role || isDirect(group)) return false;
  return group.kind === "public" || managing(group);
}

export const mayEdit = (group) => !isDirect(group) && managing(group);

// One member (`{user, role}`) as seen by the reader `me` in `group`.
export function maySetRole(group, me, member) {
  return !isDirect(group) && group?.role === "owner" && member.user.id !== me.id && member.role !== "owner";
}

// Remove and ban follow the same rule: the owner removes anyone but themself,
// a moderator removes plain members.
export function mayRemove(group, me, member) {
  if (isDirect(group) || member.user.id === me.id) return false;
  if (group?.role === "owner") return true;
  return group?.role === "moderator" && member.role === "member";
}
