// The reaction picker: a small modal dialog beside what opened it (a sheet at
// the bottom of a phone) with the emoji used last on this device (kept in
// localStorage) and a dozen common ones. One tab stop: the arrow keys move
// among the emoji (up and down by rows, as they are laid out), Home and End
// go to the ends, Enter or Space picks, Escape or a click outside closes it;
// the focus goes back to what opened it.

import { el, outside, refocus } from "./dom.js";

export const COMMON = ["👍", "❤️", "😂", "😮", "😢", "🙏", "🎉", "🔥", "👀", "✅", "👏", "😄"];
const RECENT_KEPT = 6;
const GAP_PX = 6;

export class Picker {
  // storageKey: where this user's recently used emoji are kept.
  constructor(parent, { t, storageKey, isPhone }) {
    this.t = t;
    this.storageKey = storageKey;
    this.isPhone = isPhone;
    this.opener = null;
    this.onPick = null;
    this.dialog = el("dialog", "picker");
    this.dialog.setAttribute("aria-labelledby", "picker-title");
    this.title = el("h2", "visually-hidden", t("Choose a reaction"));
    this.title.id = "picker-title";
    this.body = el("div", "picker-body");
    this.dialog.append(this.title, this.body);
    parent.append(this.dialog);
    this.dialog.addEventListener("keydown", (event) => this.keys(event));
    this.dialog.addEventListener("click", (event) => {
      const button = event.target.closest("button.emoji-choice");
      if (button) this.pick(button.dataset.emoji);
      else if (event.target === this.dialog && outside(this.dialog, event)) this.dialog.close();
    });
    this.dialog.addEventListener("close", () => {
      this.opener?.removeAttribute("aria-expanded");
      refocus(this.opener, this.openerMessage);
      this.opener = null;
    });
  }

  recent() {
    try {
      const list = JSON.parse(localStorage.getItem(this.storageKey) || "[]");
      return Array.isArray(list) ? list.filter((emoji) => typeof emoji === "string").slice(0, RECENT_KEPT) : [];
    } catch {
      return [];
    }
  }

  // An emoji just used goes first among the recent ones.
  used(emoji) {
    const list = [emoji, ...this.recent().filter((other) => other !== emoji)].slice(0, RECENT_KEPT);
    try {
      localStorage.setItem(this.storageKey, JSON.stringify(list));
    } catch {
      // Storage full or refused: the picker still works, without memory.
    }
  }

  isOpen() {
    return this.dialog.open;
  }

  // onPick(emoji) runs after the dialog has closed and the focus has gone back.
  open(opener, onPick) {
    this.opener = opener;
    this.openerMessage = opener.closest(".message")?.dataset.id;
    opener.setAttribute("aria-expanded", "true"); // its toolbar stays in sight meanwhile
    this.onPick = onPick;
    const recent = this.recent();
    this.body.replaceChildren(
      ...(recent.length ? [this.section(this.t("Recently used"), recent)] : []),
      this.section(this.t("Common"), COMMON),
    );
    this.dialog.classList.toggle("as-sheet", this.isPhone());
    this.dialog.showModal();
    if (!this.isPhone()) this.place(opener);
    const first = this.choices()[0];
    for (const choice of this.choices()) choice.tabIndex = choice === first ? 0 : -1;
    first.focus();
  }

  section(label, emoji) {
    const group = el("div", "picker-group");
    group.setAttribute("role", "group");
    const heading = el("p", "picker-label", label);
    heading.id = `picker-${label === this.t("Common") ? "common" : "recent"}`;
    heading.setAttribute("aria-hidden", "true");
    group.setAttribute("aria-labelledby", heading.id);
    const grid = el("div", "picker-grid");
    for (const symbol of emoji) {
      const button = el("button", "emoji-choice", symbol);
      button.type = "button";
      button.dataset.emoji = symbol;
      grid.append(button);
    }
    group.append(heading, grid);
    return group;
  }

  // Above what opened it when there is room, else below; never off the screen.
  place(opener) {
    const box = this.dialog.getBoundingClientRect();
    const at = opener.getBoundingClientRect();
    const above = at.top - box.height - GAP_PX;
    const top = above >= GAP_PX ? above : Math.min(at.bottom + GAP_PX, window.innerHeight - box.height - GAP_PX);
    const left = Math.min(Math.max(GAP_PX, at.left), window.innerWidth - box.width - GAP_PX);
    this.dialog.style.top = `${Math.max(GAP_PX, top)}px`;
    this.dialog.style.left = `${left}px`;
  }

  choices() {
    return [...this.body.querySelectorAll("button.emoji-choice")];
  }

  pick(emoji) {
    const onPick = this.onPick;
    this.dialog.close();
    onPick?.(emoji);
  }

  keys(event) {
    const choices = this.choices();
    const at = choices.indexOf(document.activeElement);
    if (at < 0) return;
    let to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: choices.length - 1 }[event.key];
    if (event.key === "ArrowDown" || event.key === "ArrowUp") to = nextRow(choices, at, event.key === "ArrowDown");
    if (to === undefined || !choices[to]) return;
    event.preventDefault();
    choices[at].tabIndex = -1;
    choices[to].tabIndex = 0;
    choices[to].focus();
  }
}

// The index of the button in the next row below (or above) nearest across, as laid out.
function nextRow(choices, at, down) {
  const boxes = choices.map((choice) => choice.getBoundingClientRect());
  const here = boxes[at];
  const rows = boxes.map((box) => box.top).filter((top) => (down ? top > here.top + 1 : top < here.top - 1));
  if (!rows.length) return undefined;
  const row = down ? Math.min(...rows) : Math.max(...rows);
  const centre = (box) => box.left + box.width / 2;
  let best;
  boxes.forEach((box, index) => {
    if (Math.abs(box.top - row) > 1) return;
    if (best === undefined || Math.abs(centre(box) - centre(here)) < Math.abs(centre(boxes[best]) - centre(here))) best = index;
  });
  return best;
}
