// Editing a message in place: its text becomes a box (the conversation builds
// the node with this editor where the text was), Enter saves, Shift+Enter
// adds a line, Escape cancels; Save and Cancel buttons do the same for a
// mouse or a finger. One message at a time. The edit is saved with PATCH and
// its answer goes into the store; the focus then goes back to where editing
// started (the Edit button, or the composer after ↑). Your own saved edit is
// said once to a screen reader ("Message edited"); others' edits are not
// announced: their "(edited)" is there when the message is read.

import { api } from "./api.js";
import { TEXT_LIMIT } from "./composer.js";
import { el, refocus } from "./dom.js";

export class Editor {
  // refresh(message) rebuilds a message's node; announce(text) tells a screen reader.
  constructor(store, { t, refresh, announce }) {
    this.store = store;
    this.t = t;
    this.refresh = refresh;
    this.announce = announce;
    this.current = null; // {state, message, opener}
    this.form = this.build();
    store.on("active", () => this.cancel({ focus: false }));
    store.on("message-changed", (state, message) => {
      if (this.current?.message.id === message.id && message.deleted) this.cancel({ focus: false });
    });
  }

  build() {
    const form = el("form", "editor");
    form.noValidate = true;
    this.box = el("textarea", "editor-text");
    this.box.id = "edit-text";
    this.box.rows = 2;
    this.box.setAttribute("aria-label", this.t("Edit text"));
    this.box.setAttribute("aria-describedby", "edit-hint edit-error");
    this.box.setAttribute("enterkeyhint", "done");
    this.error = el("p", "field-error editor-error");
    this.error.id = "edit-error";
    this.error.setAttribute("aria-live", "polite");
    const foot = el("div", "editor-foot");
    const hint = el("p", "editor-hint", this.t("Escape to cancel, Enter to save"));
    hint.id = "edit-hint";
    const cancel = el("button", "secondary", this.t("Cancel"));
    cancel.type = "button";
    cancel.addEventListener("click", () => this.cancel());
    this.save = el("button", "primary", this.t("Save"));
    this.save.type = "submit";
    foot.append(hint, cancel, this.save);
    form.append(this.box, this.error, foot);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        this.cancel();
      }
    });
    this.box.addEventListener("input", () => {
      this.error.textContent = "";
    });
    return form;
  }

  // The editor, while `message` is the one edited (MessageViews asks).
  editing(message) {
    return this.current?.message.id === message.id ? this.form : null;
  }

  // opener: where the focus goes back to afterwards.
  start(state, message, opener) {
    if (this.current) this.cancel({ focus: false });
    this.current = { state, message, opener };
    this.box.value = message.text || "";
    this.box.readOnly = false;
    this.save.disabled = false;
    this.error.textContent = "";
    this.refresh(message);
    this.box.focus();
    this.box.setSelectionRange(this.box.value.length, this.box.value.length);
  }

  async submit() {
    const { current } = this;
    if (!current || this.box.readOnly) return;
    const text = this.box.value.trim();
    const length = [...text].length;
    if (!length || length > TEXT_LIMIT) {
      this.error.textContent = length ? this.t("Too long: at most 4,000 characters.")
        : this.t("A message cannot be empty. Delete it instead.");
      return;
    }
    const now = current.state.messages.get(current.message.id) ?? current.message;
    if (text === now.text) {
      this.cancel();
      return;
    }
    this.box.readOnly = true;
    this.save.disabled = true;
    try {
      const { message } = await api("PATCH", `/api/groups/${current.state.group.id}/messages/${now.seq}`, { text });
      if (this.current !== current) return;
      this.close();
      if (!this.store.changeMessage(current.state, message)) this.refresh(current.state.messages.get(message.id) ?? message);
      this.announce(this.t("Message edited"));
      this.focusBack(current);
    } catch (error) {
      if (this.current !== current) return;
      this.box.readOnly = false;
      this.save.disabled = false;
      this.error.textContent = error.code === "message_not_found" ? this.t("This message was deleted")
        : this.t("Could not save the edit. Try again.");
      this.box.focus();
    }
  }

  cancel({ focus = true } = {}) {
    const { current } = this;
    if (!current) return;
    this.close();
    const message = current.state.messages.get(current.message.id);
    if (message && current.state === this.store.active()) this.refresh(message);
    if (focus) this.focusBack(current);
  }

  // The node rebuilt after this no longer has the editor (the old one, with it, goes).
  close() {
    this.current = null;
  }

  focusBack({ opener, message }) {
    refocus(opener, message.id);
  }
}
