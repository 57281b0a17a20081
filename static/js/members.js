// The members dialog (issue 15): a group's members by role (owner, moderators,
// members), who of them is online, and what the reader may do: add someone
// (a combobox suggesting the people the reader shares groups with), message
// anyone, and, as the permission table allows, make a moderator or a member,
// remove or ban (both asked first). Each control shows only to those whose
// press the server would accept (roles.js). The stream keeps it current:
// joins, leaves, removals and role changes update its rows in place.

import { api } from "./api.js";
import { avatar } from "./avatar.js";
import { Combobox } from "./combobox.js";
import { el, icon, outside } from "./dom.js";
import { byRole, displayName, isDirect, mayAdd, mayRemove, maySetRole } from "./roles.js";

const ICON_MESSAGE = "M4 5h16v11H9l-5 4z";
const ICON_MORE = "M5 12h.01M12 12h.01M19 12h.01";
const PREFETCH_GROUPS = 20; // members lists fetched for suggestions, at most

export class MembersDialog {
  // dom: {dialog, title, about, close, form, input, options, error, done, list, menu,
  //       confirm: {dialog, title, text, error, cancel, ok}}
  // onMessage(user) starts a direct conversation.
  constructor(dom, store, people, { t, format, onMessage }) {
    this.dom = dom;
    this.store = store;
    this.people = people;
    this.t = t;
    this.format = format;
    this.onMessage = onMessage;
    this.state = null;
    this.members = new Map(); // user id -> {user, role, joined_at}
    this.fetched = new Set(); // group ids whose members lists fed the suggestions
    this.menuFor = null; // {member, button} of the open row menu
    this.pending = null; // {member, ban} awaiting confirmation
    this.roleNames = { owner: t("Owner"), moderator: t("Moderator"), member: t("Member") };
    dom.close.addEventListener("click", () => dom.dialog.close());
    dom.dialog.addEventListener("close", () => this.closed());
    dom.dialog.addEventListener("click", (event) => {
      if (event.target === dom.dialog && outside(dom.dialog, event)) dom.dialog.close();
    });
    this.combo = new Combobox(dom.input, dom.options, {
      options: (typed) => this.people.suggest(typed, new Set(this.members.keys())).map((user) => ({
        id: user.id, label: user.username, node: personLine(user),
      })),
    });
    dom.input.addEventListener("focus", () => this.prefetch(), { once: false });
    dom.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.add();
    });
    dom.list.addEventListener("click", (event) => this.clicked(event));
    dom.menu.addEventListener("keydown", (event) => this.menuKeys(event));
    dom.menu.addEventListener("click", (event) => {
      const item = event.target.closest('[role="menuitem"]');
      if (item) this.act(item.dataset.action);
    });
    dom.menu.addEventListener("focusout", (event) => {
      if (!dom.menu.contains(event.relatedTarget) && event.relatedTarget !== this.menuFor?.button) this.closeMenu(false);
    });
    dom.dialog.addEventListener("pointerdown", (event) => {
      if (this.menuFor && !dom.menu.contains(event.target) && !this.menuFor.button.contains(event.target)) this.closeMenu(false);
    });
    const confirm = dom.confirm;
    confirm.cancel.addEventListener("click", () => confirm.dialog.close());
    confirm.ok.addEventListener("click", () => this.confirmed());
    // Cancelled: back to the row's menu button; done: the row is gone, to the dialog's heading.
    confirm.dialog.addEventListener("close", () => {
      const member = this.pending?.member;
      this.pending = null;
      const row = member && this.rowOf(member.user.id);
      (row?.querySelector(".more") ?? dom.title).focus();
    });
    const mine = (handler) => (state, ...args) => {
      if (state === this.state && dom.dialog.open) handler(...args);
    };
    store.on("member", mine((event) => this.memberEvent(event)));
    store.on("member-changed", mine((member) => this.setMember(member)));
    store.on("group-changed", mine(() => this.render()));
    store.on("online", mine(() => this.showOnline()));
    store.on("group-removed", (state) => {
      if (state === this.state && dom.dialog.open) dom.dialog.close();
    });
  }

  async open(state, opener) {
    const { dom } = this;
    this.state = state;
    this.opener = opener;
    this.members = new Map();
    dom.title.textContent = this.t("Members of {name}", { name: displayName(state.group) });
    dom.input.value = "";
    dom.error.textContent = "";
    dom.done.textContent = "";
    this.combo.close();
    dom.list.replaceChildren(el("li", "muted", this.t("Loading…")));
    this.render();
    dom.dialog.showModal();
    dom.title.focus();
    try {
      const { members } = await api("GET", `/api/groups/${state.group.id}/members`);
      if (this.state !== state) return;
      this.members = new Map(members.map((member) => [member.user.id, member]));
      this.people.addMany(members.map((member) => member.user));
      this.fetched.add(state.group.id);
      this.render();
    } catch {
      dom.list.replaceChildren(el("li", "muted", this.t("Could not load the members. Try again.")));
    }
  }

  closed() {
    this.closeMenu(false);
    const opener = this.opener;
    this.state = null;
    this.opener = null;
    if (opener?.isConnected && !document.querySelector("dialog[open]")) opener.focus();
  }

  // The members lists of the reader's other groups, once, for the suggestions.
  async prefetch() {
    const others = [...this.store.groups.values()]
      .filter((state) => !isDirect(state.group) && !this.fetched.has(state.group.id)).slice(0, PREFETCH_GROUPS);
    for (const state of others) this.fetched.add(state.group.id);
    const lists = await Promise.allSettled(others.map((state) => api("GET", `/api/groups/${state.group.id}/members`)));
    for (const list of lists) {
      if (list.status === "fulfilled") this.people.addMany(list.value.members.map((member) => member.user));
    }
    if (document.activeElement === this.dom.input && this.dom.input.value) this.combo.open();
  }

  // The whole dialog from what is known: the about line, the form, the rows.
  render() {
    const { dom, state } = this;
    if (!state) return;
    const { group } = state;
    const kind = { public: this.t("Public group"), private: this.t("Private group"), direct: this.t("Direct message") }[group.kind]
      ?? this.t("Public group");
    dom.about.textContent = `${kind} · ${this.format.members(this.members.size || group.members)}`;
    dom.form.hidden = !mayAdd(group);
    if (!this.members.size) return;
    const focused = dom.list.contains(document.activeElement) ? document.activeElement : null;
    const key = focused && `${focused.closest("li")?.dataset.user}:${focused.dataset.focus}`;
    const rows = [...this.members.values()].sort(byRole).map((member) => this.row(member));
    dom.list.replaceChildren(...rows);
    if (key) {
      const [user, what] = key.split(":");
      (dom.list.querySelector(`li[data-user="${user}"] [data-focus="${what}"]`) ?? dom.title).focus();
    }
    if (this.menuFor) this.menuRowRebuilt();
  }

  // A row's menu was open when the list was rebuilt (a join, a leave, a role change): its actions
  // may no longer hold, so it closes, and focus goes to the row's new button (or the title).
  menuRowRebuilt() {
    const { dom } = this;
    const again = dom.list.querySelector(`li[data-user="${this.menuFor.member.user.id}"] [data-focus="more"]`);
    const hadFocus = dom.menu.contains(document.activeElement);
    if (again) this.menuFor.button = again;
    this.closeMenu(false);
    if (hadFocus) (again ?? dom.title).focus();
  }

  // Who is online, on the rows as they are: a presence change rebuilds nothing, so an
  // open row menu keeps its button (and Escape its way back to it).
  showOnline() {
    for (const item of this.dom.list.querySelectorAll("li[data-user]")) {
      const online = this.state.online.has(Number(item.dataset.user));
      if (item.classList.contains("is-online") === online) continue;
      item.classList.toggle("is-online", online);
      const name = item.querySelector(".member-name");
      if (online) name.append(el("span", "sr-only", `, ${this.t("online")}`));
      else name.querySelector(".sr-only")?.remove();
    }
  }

  row(member) {
    const { user, role } = member;
    const me = this.store.me;
    const online = this.state.online.has(user.id);
    const item = el("li", `member${online ? " is-online" : ""}`);
    item.dataset.user = String(user.id);
    const who = el("span", "member-who");
    const face = avatar(user);
    face.classList.add("member-avatar");
    who.append(face);
    const name = el("span", "member-name");
    name.append(el("span", "name", user.username));
    if (user.id === me.id) name.append(" ", el("span", "you", this.t("(you)")));
    if (online) name.append(el("span", "sr-only", `, ${this.t("online")}`));
    who.append(name);
    const badge = el("span", `role-badge role-${role}`, this.roleNames[role] ?? role);
    const actions = el("span", "member-actions");
    const write = el("button", "icon-button message");
    write.type = "button";
    write.dataset.focus = "message";
    write.setAttribute("aria-label", this.t("Message {name}", { name: user.username }));
    write.title = write.getAttribute("aria-label");
    write.append(icon(ICON_MESSAGE, 18));
    actions.append(write);
    if (this.menuItems(member).length) {
      const more = el("button", "icon-button more");
      more.type = "button";
      more.dataset.focus = "more";
      more.setAttribute("aria-haspopup", "menu");
      more.setAttribute("aria-expanded", "false");
      more.setAttribute("aria-controls", this.dom.menu.id);
      more.setAttribute("aria-label", this.t("More actions for {name}", { name: user.username }));
      more.title = more.getAttribute("aria-label");
      more.append(icon(ICON_MORE, 20));
      actions.append(more);
    }
    item.append(who, badge, actions);
    return item;
  }

  // What the reader may do to this member, in menu order.
  menuItems(member) {
    const { group } = this.state;
    const me = this.store.me;
    const items = [];
    if (maySetRole(group, me, member)) {
      items.push(member.role === "moderator" ? "member" : "moderator");
    }
    if (mayRemove(group, me, member)) items.push("remove", "ban");
    return items;
  }

  rowOf(userId) {
    return this.dom.list.querySelector(`li[data-user="${userId}"]`);
  }

  clicked(event) {
    const button = event.target.closest("button");
    const member = button && this.members.get(Number(button.closest("li")?.dataset.user));
    if (!member) return;
    if (button.classList.contains("message")) {
      this.dom.dialog.close();
      this.onMessage(member.user);
    } else if (button.classList.contains("more")) {
      if (this.menuFor?.button === button) this.closeMenu(true);
      else this.openMenu(member, button);
    }
  }

  // The row menu: one menu for the dialog, put under the row's ⋯ button.
  openMenu(member, button) {
    const { menu } = this.dom;
    this.closeMenu(false);
    const labels = {
      moderator: this.t("Make moderator"),
      member: this.t("Make member"),
      remove: this.t("Remove from group"),
      ban: this.t("Ban from group"),
    };
    menu.replaceChildren(...this.menuItems(member).map((action) => {
      const item = el("button", action === "remove" || action === "ban" ? "danger" : "", labels[action]);
      item.type = "button";
      item.setAttribute("role", "menuitem");
      item.tabIndex = -1;
      item.dataset.action = action;
      return item;
    }));
    menu.setAttribute("aria-label", this.t("Actions for {name}", { name: member.user.username }));
    this.menuFor = { member, button };
    button.setAttribute("aria-expanded", "true");
    menu.hidden = false;
    const box = this.dom.dialog.getBoundingClientRect();
    const at = button.getBoundingClientRect();
    const below = at.bottom - box.top + this.dom.dialog.scrollTop + 4;
    const room = box.bottom - at.bottom;
    menu.style.top = `${room > menu.offsetHeight + 8 ? below : at.top - box.top + this.dom.dialog.scrollTop - menu.offsetHeight - 4}px`;
    menu.style.right = `${box.right - at.right}px`;
    menu.querySelector('[role="menuitem"]')?.focus();
  }

  closeMenu(focusButton) {
    if (!this.menuFor) return;
    const { button } = this.menuFor;
    this.menuFor = null;
    this.dom.menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (focusButton && button.isConnected) button.focus();
  }

  menuKeys(event) {
    const items = [...this.dom.menu.querySelectorAll('[role="menuitem"]')];
    const at = items.indexOf(document.activeElement);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[event.key];
    if (to !== undefined) {
      event.preventDefault();
      items[(to + items.length) % items.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault(); // the menu closes, not the dialog
      event.stopPropagation();
      this.closeMenu(true);
    } else if (event.key === "Tab") {
      this.closeMenu(false);
    }
  }

  act(action) {
    const { member, button } = this.menuFor ?? {};
    if (!member) return;
    this.closeMenu(false);
    if (action === "remove" || action === "ban") this.ask(member, action === "ban", button);
    else this.setRole(member, action, button);
  }

  async setRole(member, role, button) {
    const { dom, state } = this;
    dom.error.textContent = "";
    button.focus();
    try {
      const answer = await api("PUT", `/api/groups/${state.group.id}/members/${member.user.id}`, { role });
      this.setMember(answer.member);
      dom.done.textContent = role === "moderator"
        ? this.t("{name} is now a moderator.", { name: member.user.username })
        : this.t("{name} is now a member.", { name: member.user.username });
    } catch {
      dom.error.textContent = this.t("Could not change the role of {name}. Try again.", { name: member.user.username });
    }
  }

  // Remove or ban: asked first, in a dialog over this one.
  ask(member, ban, button) {
    const { confirm } = this.dom;
    const values = { name: member.user.username, group: displayName(this.state.group) };
    this.pending = { member, ban };
    confirm.title.textContent = ban ? this.t("Ban {name} from {group}?", values) : this.t("Remove {name} from {group}?", values);
    confirm.text.textContent = ban
      ? this.t("They will be removed and cannot join or be added again.")
      : this.t("They will stop seeing the group. They can be added again later.");
    confirm.ok.textContent = ban ? this.t("Ban") : this.t("Remove");
    confirm.error.textContent = "";
    confirm.ok.disabled = false;
    confirm.dialog.showModal();
    confirm.cancel.focus();
    this.confirmOpener = button;
  }

  async confirmed() {
    const { confirm } = this.dom;
    const { member, ban } = this.pending ?? {};
    if (!member) return;
    confirm.ok.disabled = true;
    try {
      await api("DELETE", `/api/groups/${this.state.group.id}/members/${member.user.id}${ban ? "?ban=true" : ""}`);
      this.dropMember(member.user.id);
      this.dom.done.textContent = ban
        ? this.t("{name} was banned.", { name: member.user.username })
        : this.t("{name} was removed.", { name: member.user.username });
      this.pending = null;
      confirm.dialog.close();
    } catch (error) {
      if (error.code === "member_not_found") {
        this.dropMember(member.user.id);
        this.pending = null;
        confirm.dialog.close();
        return;
      }
      confirm.error.textContent = ban
        ? this.t("Could not ban {name}. Try again.", { name: member.user.username })
        : this.t("Could not remove {name}. Try again.", { name: member.user.username });
      confirm.ok.disabled = false;
    }
  }

  async add() {
    const { dom, state } = this;
    const username = dom.input.value.trim();
    dom.error.textContent = "";
    dom.done.textContent = "";
    if (!username) {
      dom.error.textContent = this.t("Enter a username.");
      dom.input.focus();
      return;
    }
    this.combo.close();
    try {
      // (the member count follows the stream's member event, which this page gets too)
      await api("POST", `/api/groups/${state.group.id}/members`, { username });
      const { members } = await api("GET", `/api/groups/${state.group.id}/members`);
      if (this.state !== state) return;
      this.members = new Map(members.map((member) => [member.user.id, member]));
      this.render();
      dom.input.value = "";
      const added = members.find((member) => member.user.username.toLowerCase() === username.toLowerCase());
      dom.done.textContent = this.t("{name} was added.", { name: added?.user.username ?? username });
    } catch (error) {
      dom.error.textContent = {
        user_not_found: this.t("There is nobody called “{name}”.", { name: username }),
        banned: this.t("{name} is banned from this group.", { name: username }),
        invalid_username: this.t("There is nobody called “{name}”.", { name: username }),
      }[error.code] ?? this.t("Could not add {name}. Try again.", { name: username });
    }
    dom.input.focus();
  }

  // From the stream: someone joined, left, was added or removed.
  memberEvent(event) {
    if (event.joined) {
      if (!this.members.has(event.user.id)) {
        this.members.set(event.user.id, { user: event.user, role: "member", joined_at: new Date().toISOString() });
      }
      this.render();
    } else {
      this.dropMember(event.user.id);
    }
  }

  setMember(member) {
    if (!this.members.has(member.user.id) && !this.members.size) return; // not loaded yet: the list will have it
    this.members.set(member.user.id, member);
    this.render();
  }

  dropMember(userId) {
    if (!this.members.delete(userId)) return;
    this.render();
  }
}

// A suggestion: the person's avatar and name.
function personLine(user) {
  const line = el("span", "person");
  line.append(avatar(user), el("span", "", user.username));
  return line;
}
