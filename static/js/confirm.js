// Leaving a group is never one stray click: the X beside a tab and the group
// menu's "Leave group" open this modal dialog, which says what leaving costs.
// Cancel, Escape or a click on the backdrop keep the group; the focus goes back
// to what opened the dialog (or, when that left with the group, to the page).

import { api } from "./api.js";
import { outside } from "./dom.js";

export class LeaveConfirm {
  // dom: {dialog, title, error, cancel, confirm}; onLeft() runs after a group is left.
  constructor(dom, store, { t, onLeft }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    this.onLeft = onLeft;
    this.state = null;
    this.opener = null;
    dom.cancel.addEventListener("click", () => dom.dialog.close());
    dom.confirm.addEventListener("click", () => this.leave());
    dom.dialog.addEventListener("click", (event) => {
      if (event.target === dom.dialog && outside(dom.dialog, event)) dom.dialog.close();
    });
    dom.dialog.addEventListener("close", () => this.closed());
    store.on("group-removed", (state) => {
      if (state === this.state && dom.dialog.open) dom.dialog.close();
    });
  }

  ask(state, opener) {
    const { dom } = this;
    this.state = state;
    this.opener = opener;
    this.left = false;
    dom.title.textContent = this.t("Leave {name}?", { name: state.group.name });
    dom.error.textContent = "";
    dom.confirm.disabled = false;
    dom.dialog.showModal();
    dom.cancel.focus(); // the choice that loses nothing
  }

  async leave() {
    const { dom, state } = this;
    dom.confirm.disabled = true;
    dom.error.textContent = "";
    try {
      await api("DELETE", `/api/groups/${state.group.id}/membership`);
    } catch (error) {
      if (!["not_member", "group_not_found"].includes(error.code)) {
        dom.error.textContent = this.t("Could not leave the group. Try again.");
        dom.confirm.disabled = false;
        return;
      }
    }
    this.left = true;
    this.store.removeGroup(state.group.id);
    if (dom.dialog.open) dom.dialog.close();
  }

  closed() {
    const opener = this.opener;
    this.state = null;
    this.opener = null;
    if (this.left) this.onLeft();
    else if (opener?.isConnected) opener.focus();
  }
}
