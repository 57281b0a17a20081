// Deleting a message is never one stray click: Delete opens this modal dialog
// ("Delete this message?"), Cancel (which has the focus), Escape or a click
// outside keep it. Deleted, it stays in its place for everyone as "This
// message was deleted"; the page shows that at once (a deleted message never
// changes again, so the stream's copy of the change is the same) and tells a
// screen reader once.

import { api } from "./api.js";
import { el, outside, refocus } from "./dom.js";

export class DeleteConfirm {
  // announce(text) tells a screen reader.
  constructor(parent, store, { t, announce }) {
    this.store = store;
    this.t = t;
    this.announce = announce;
    this.target = null; // {state, message, opener}
    const dialog = el("dialog", "confirm-dialog delete-dialog");
    dialog.setAttribute("aria-labelledby", "delete-title");
    dialog.setAttribute("aria-describedby", "delete-text");
    const title = el("h2", "", t("Delete this message?"));
    title.id = "delete-title";
    const text = el("p", "", t("It will be deleted for everyone in the group."));
    text.id = "delete-text";
    this.preview = el("blockquote", "delete-preview"); // which message: its start
    this.error = el("p", "field-error");
    this.error.setAttribute("role", "alert");
    const actions = el("div", "dialog-actions");
    this.cancelButton = el("button", "secondary", t("Cancel"));
    this.cancelButton.type = "button";
    this.confirm = el("button", "danger-button", t("Delete"));
    this.confirm.type = "button";
    actions.append(this.cancelButton, this.confirm);
    dialog.append(title, this.preview, text, this.error, actions);
    parent.append(dialog);
    this.dialog = dialog;
    this.cancelButton.addEventListener("click", () => dialog.close());
    this.confirm.addEventListener("click", () => this.remove());
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog && outside(dialog, event)) dialog.close();
    });
    dialog.addEventListener("close", () => this.closed());
  }

  ask(state, message, opener) {
    this.target = { state, message, opener };
    this.preview.textContent = message.text ?? `📷 ${this.t("Image")}`;
    this.error.textContent = "";
    this.confirm.disabled = false;
    this.dialog.showModal();
    this.cancelButton.focus(); // the choice that loses nothing
  }

  async remove() {
    const { state, message } = this.target;
    this.confirm.disabled = true;
    this.error.textContent = "";
    try {
      await api("DELETE", `/api/groups/${state.group.id}/messages/${message.seq}`);
    } catch (error) {
      if (error.code !== "message_not_found") {
        this.error.textContent = this.t("Could not delete the message. Try again.");
        this.confirm.disabled = false;
        return;
      }
    }
    this.target.deleted = true;
    const now = state.messages.get(message.id) ?? message;
    this.store.changeMessage(state, {
      ...now, version: (now.version ?? 1) + 1, deleted: true, text: null, image: null, reply_to: null, reactions: [], mentions: [],
    });
    this.announce(this.t("Message deleted"));
    if (this.dialog.open) this.dialog.close();
  }

  // The focus goes back to what opened the dialog, or to the message's time when that went with the change.
  closed() {
    const { opener, message, deleted } = this.target ?? {};
    this.target = null;
    if (message) refocus(deleted ? null : opener, message.id);
  }
}
