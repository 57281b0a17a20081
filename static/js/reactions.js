// Reactions: the chips under a bubble (an emoji and how many reacted with it;
// yours pressed), who reacted on hover and on focus (the title, which is also
// the chip's accessible description), a click toggles yours, and a "+" chip
// opens the picker. The clicks are handled once for the whole log; the answer
// (the whole message) goes into the store, whose change replaces the node.

import { api } from "./api.js";
import { el, icon } from "./dom.js";

const SMILE_PLUS = "M20 12a8 8 0 1 1-8-8M9 10h.01M15 10h.01M8.5 14.5a4.5 4.5 0 0 0 7 0M19 2v6M16 5h6";

// The chips of a message, or null when nobody reacted.
export function reactionsNode(message, me, { t, format }) {
  if (!message.reactions?.length || message.deleted) return null;
  const row = el("div", "reactions");
  for (const { emoji, users } of message.reactions) {
    const chip = el("button", "chip");
    chip.type = "button";
    chip.dataset.emoji = emoji;
    chip.dataset.focus = `reaction ${emoji}`;
    chip.setAttribute("aria-pressed", String(users.some((user) => user.id === me.id)));
    chip.title = whoReacted(users, emoji, me, { t, format });
    chip.append(el("span", "emoji", emoji), el("span", "count", format.number(users.length)));
    row.append(chip);
  }
  const more = el("button", "chip add-reaction");
  more.type = "button";
  more.dataset.focus = "add reaction";
  more.setAttribute("aria-label", t("Add reaction"));
  more.title = t("Add reaction");
  more.setAttribute("aria-haspopup", "dialog");
  more.append(icon(SMILE_PLUS, 18));
  row.append(more);
  return row;
}

// "You, ana and bob reacted with 👍": you first, then in the order they reacted.
export function whoReacted(users, emoji, me, { t, format }) {
  const mine = users.some((user) => user.id === me.id);
  const names = [...(mine ? [t("You")] : []), ...users.filter((user) => user.id !== me.id).map((user) => user.username)];
  const list = new Intl.ListFormat(format.locale, { type: "conjunction" }).format(names);
  return names.length === 1 ? t("{name} reacted with {emoji}", { name: list, emoji })
    : t("{names} reacted with {emoji}", { names: list, emoji });
}

export class Reactions {
  // picker: a Picker; onFailed(text) says what went wrong.
  constructor(log, store, picker, { t, onFailed }) {
    this.store = store;
    this.picker = picker;
    this.t = t;
    this.onFailed = onFailed;
    this.busy = new Set(); // "message id emoji" of the requests under way
    log.addEventListener("click", (event) => {
      const chip = event.target.closest(".reactions .chip");
      const state = store.active();
      const message = chip && state?.messages.get(Number(chip.closest(".message")?.dataset.id));
      if (!message) return;
      if (chip.classList.contains("add-reaction")) this.pick(state, message, chip);
      else this.toggle(state, message, chip.dataset.emoji, chip.getAttribute("aria-pressed") !== "true");
    });
  }

  // The picker, for a message; what is picked is added (picking one of yours changes nothing).
  pick(state, message, opener) {
    this.picker.open(opener, (emoji) => this.toggle(state, message, emoji, true));
  }

  async toggle(state, message, emoji, on) {
    const key = `${message.id} ${emoji}`;
    if (this.busy.has(key)) return;
    this.busy.add(key);
    if (on) this.picker.used(emoji);
    const path = `/api/groups/${state.group.id}/messages/${message.seq}/reactions/${encodeURIComponent(emoji)}`;
    try {
      const answer = await api(on ? "PUT" : "DELETE", path);
      this.store.changeMessage(state, answer.message);
    } catch (error) {
      this.onFailed(error.code === "too_many_reactions"
        ? this.t("This message has as many different reactions as it can have.")
        : this.t("Could not change the reaction. Try again."));
    } finally {
      this.busy.delete(key);
    }
  }
}
