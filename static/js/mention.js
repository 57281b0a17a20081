// Mentions in the composer (issue 16): after `@`, the group's members whose name
// starts with (then contains) what follows are offered in a list above the box.
// ↓ and ↑ move (the first is chosen from the start), Enter or Tab takes the one
// chosen into the text as "@name ", Escape closes the list; a click takes one too.
//
// The message box stays a textbox (its name, "Message", and its role are kept):
// it owns the list through aria-controls while it shows, says which option is
// chosen with aria-activedescendant and aria-autocomplete="list", as GitHub's
// comment box does; a polite status says how many people are offered.

import { api } from "./api.js";
import { avatar } from "./avatar.js";
import { el } from "./dom.js";
import { suggest } from "./people.js";

const SHOWN = 8;
const MEMBERS_FOR_MS = 60000; // a members list fetched is trusted this long (member events drop it sooner)
// The word being typed after an `@` that starts a word, up to the caret.
const TYPED = /(?:^|[^\p{L}\p{N}_@])@([\p{L}\p{N}_]{0,32})$/u;

export class MentionBox {
  // dom: {message, popup (the list and a hint, shown together), list, status}
  constructor(dom, store, { t, format }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    this.format = format;
    this.members = new Map(); // group id -> {users, at} | {loading: Promise}
    this.shown = [];
    this.active = 0;
    this.query = null; // {start, end}: where "@typed" sits in the text
    const box = dom.message;
    box.setAttribute("aria-autocomplete", "list");
    box.addEventListener("input", () => this.update());
    box.addEventListener("click", () => this.update());
    box.addEventListener("keydown", (event) => this.keys(event));
    box.addEventListener("blur", () => setTimeout(() => {
      if (document.activeElement !== box) this.close();
    }, 150));
    dom.popup.addEventListener("pointerdown", (event) => event.preventDefault()); // the focus stays in the box
    dom.list.addEventListener("click", (event) => {
      const option = event.target.closest('[role="option"]');
      if (option) this.pick(Number(option.dataset.index));
    });
    const drop = (state) => this.members.delete(state.group.id);
    store.on("member", drop);
    store.on("member-changed", drop);
    store.on("active", () => this.close());
  }

  isOpen() {
    return !this.dom.popup.hidden;
  }

  // The members of the open group: fetched once a minute at most, the reader left out.
  async people(state) {
    const id = state.group.id;
    const held = this.members.get(id);
    if (held?.users && Date.now() - held.at < MEMBERS_FOR_MS) return held.users;
    if (held?.loading) return held.loading;
    const loading = api("GET", `/api/groups/${id}/members`).then(({ members }) => {
      const users = members.map((member) => member.user).filter((user) => user.id !== this.store.me.id);
      this.members.set(id, { users, at: Date.now() });
      return users;
    }).catch(() => {
      this.members.delete(id);
      return state.group.peer ? [state.group.peer] : [];
    });
    this.members.set(id, { loading });
    return loading;
  }

  // What was typed after `@` at the caret, if anything: offers the people who match.
  async update() {
    const box = this.dom.message;
    const state = this.store.active();
    const before = box.selectionStart === box.selectionEnd ? box.value.slice(0, box.selectionStart) : "";
    const match = state && before.match(TYPED);
    if (!match) {
      this.close();
      return;
    }
    const typed = match[1];
    const users = await this.people(state);
    if (this.store.active() !== state || box.value.slice(0, box.selectionStart) !== before) return; // typed on meanwhile
    this.query = { start: before.length - typed.length - 1, end: before.length };
    this.show(suggest(users, typed, SHOWN));
  }

  show(users) {
    const { list, message, status } = this.dom;
    if (!users.length) {
      this.close();
      return;
    }
    const same = this.shown.length === users.length && this.shown.every((user, i) => user.id === users[i].id);
    const keep = same && this.isOpen() ? this.active : 0;
    this.shown = users;
    if (!same || !this.isOpen()) {
      list.replaceChildren(...users.map((user, index) => {
        const option = el("li", "mention-option");
        option.id = `mention-option-${index}`;
        option.setAttribute("role", "option");
        option.dataset.index = String(index);
        const face = avatar(user);
        face.setAttribute("aria-hidden", "true");
        option.append(face, el("span", "mention-name", user.username));
        return option;
      }));
      status.textContent = this.format.plural(users.length, {
        one: (n) => this.t("{count} person to mention. Up and down arrows to choose, Enter to pick.", { count: n }),
        other: (n) => this.t("{count} people to mention. Up and down arrows to choose, Enter to pick.", { count: n }),
      });
    }
    this.dom.popup.hidden = false;
    message.setAttribute("aria-controls", list.id);
    this.move(keep);
  }

  close() {
    const { list, message, popup, status } = this.dom;
    this.query = null;
    if (popup.hidden) return;
    status.textContent = "";
    popup.hidden = true;
    list.replaceChildren();
    this.shown = [];
    message.removeAttribute("aria-activedescendant");
    message.removeAttribute("aria-controls");
  }

  move(to) {
    const options = [...this.dom.list.children];
    if (!options.length) return;
    this.active = (to + options.length) % options.length;
    options.forEach((option, index) => option.setAttribute("aria-selected", String(index === this.active)));
    this.dom.message.setAttribute("aria-activedescendant", options[this.active].id);
    options[this.active].scrollIntoView({ block: "nearest" });
  }

  // "@typed" becomes "@name " and the caret goes after it.
  pick(index) {
    const user = this.shown[index];
    const query = this.query;
    if (!user || !query) return;
    const box = this.dom.message;
    const insert = `@${user.username} `;
    const after = box.value.slice(query.end).replace(/^ /, "");
    box.value = box.value.slice(0, query.start) + insert + after;
    const caret = query.start + insert.length;
    box.setSelectionRange(caret, caret);
    this.close();
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true })); // the counter and the draft follow
  }

  // Runs before the composer's own keys: a key the list takes goes no further.
  keys(event) {
    if (!this.isOpen() || event.isComposing) return;
    const take = () => {
      event.preventDefault();
      event.stopImmediatePropagation();
    };
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && !event.altKey && !event.ctrlKey && !event.metaKey) {
      take();
      this.move(this.active + (event.key === "ArrowDown" ? 1 : -1));
    } else if ((event.key === "Enter" && !event.shiftKey) || (event.key === "Tab" && !event.shiftKey)) {
      take();
      this.pick(this.active);
    } else if (event.key === "Escape") {
      take();
      this.close();
    }
  }
}
