// Notices that must not be missed (issue 15: "You were removed from X"): a card
// at the top of the page that stays until dismissed, said once by a polite live
// region of its own (the card's Dismiss button is not read out with it).

import { el } from "./dom.js";
import { displayName } from "./roles.js";

const KEPT = 3;

export class Toasts {
  constructor(container, { t }) {
    this.container = container;
    this.t = t;
    this.region = el("div", "sr-only");
    this.region.setAttribute("aria-live", "polite");
    container.after(this.region);
  }

  // The reader removed from a group (or banned): said, and the tab closes (the
  // store's doing); refocus() puts the focus back on the page when it was in what went.
  watchRemovals(store, refocus) {
    this.onEmpty = refocus;
    store.on("removed", (state, event) => {
      const group = displayName(state.group);
      this.show(event.banned ? this.t("You were removed from {group} and banned from it.", { group })
        : this.t("You were removed from {group}.", { group }), { danger: true });
      setTimeout(() => {
        const focus = document.activeElement;
        if (!focus || focus === document.body || !focus.offsetParent) refocus();
      });
    });
  }

  show(text, { danger = false } = {}) {
    const toast = el("div", `toast${danger ? " danger" : ""}`);
    toast.append(el("p", "", text));
    const dismiss = el("button", "link-button", this.t("Dismiss"));
    dismiss.type = "button";
    dismiss.addEventListener("click", () => {
      const refocus = toast.contains(document.activeElement);
      toast.remove();
      if (refocus) this.onEmpty?.();
    });
    toast.append(dismiss);
    this.container.prepend(toast);
    while (this.container.childElementCount > KEPT) this.container.lastElementChild.remove();
    this.region.textContent = "";
    setTimeout(() => { this.region.textContent = text; }, 50); // a change the screen reader notices
    return toast;
  }
}
