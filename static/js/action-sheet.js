// On a touch screen, a long press on a message opens this sheet from the bottom
// (as WhatsApp does): a row of quick reactions, then the message's actions and
// Cancel. It is a modal dialog; Cancel, Escape or a tap outside close it, and
// the focus goes back to the message.

import { actionsFor } from "./actions.js";
import { el, outside } from "./dom.js";
import { COMMON } from "./picker.js";

const QUICK = 6;

export class ActionSheet {
  // run(action, state, message, opener) does an action; react(state, message, emoji) adds a reaction.
  constructor(parent, store, picker, { t, run, react }) {
    this.store = store;
    this.picker = picker;
    this.t = t;
    this.run = run;
    this.react = react;
    this.dialog = el("dialog", "action-sheet");
    this.dialog.setAttribute("aria-labelledby", "action-sheet-title");
    const title = el("h2", "visually-hidden", t("Message actions"));
    title.id = "action-sheet-title";
    this.quick = el("div", "quick-reactions");
    this.quick.setAttribute("role", "group");
    this.quick.setAttribute("aria-label", t("React"));
    this.list = el("div", "sheet-actions");
    const cancel = el("button", "sheet-cancel", t("Cancel"));
    cancel.type = "button";
    cancel.addEventListener("click", () => this.dialog.close());
    this.dialog.append(title, this.quick, this.list, cancel);
    parent.append(this.dialog);
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog && outside(this.dialog, event)) this.dialog.close();
    });
    this.dialog.addEventListener("close", () => {
      const stamp = this.node?.isConnected ? this.node.querySelector("time.stamp") : null;
      stamp?.focus({ preventScroll: true });
    });
  }

  open(state, message, node) {
    this.node = node;
    const then = (fn) => () => {
      this.dialog.close();
      fn();
    };
    const actions = actionsFor(message, this.store.me);
    const names = { reply: this.t("Reply"), react: this.t("More reactions"), edit: this.t("Edit"), delete: this.t("Delete") };
    const emoji = [...new Set([...this.picker.recent(), ...COMMON])].slice(0, QUICK);
    this.quick.replaceChildren(...emoji.map((symbol) => {
      const button = el("button", "emoji-choice", symbol);
      button.type = "button";
      button.addEventListener("click", then(() => this.react(state, message, symbol)));
      return button;
    }));
    this.list.replaceChildren(...actions.map((action) => {
      const button = el("button", `sheet-action ${action}`, names[action]);
      button.type = "button";
      // The opener is the message's time: where the focus goes back after a dialog opened from here.
      button.addEventListener("click", then(() => this.run(action, state, message, node.querySelector("time.stamp"))));
      return button;
    }));
    this.dialog.showModal();
    this.list.firstElementChild?.focus({ preventScroll: true });
  }
}
