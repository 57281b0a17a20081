// Group settings (issue 15): the owner and the moderators rename a group and
// set its topic. A modal dialog with the two fields; Save sends only what
// changed (PATCH), and the store takes the answer at once (the stream's
// group_changed follows for everyone else).

import { api } from "./api.js";
import { mayEdit } from "./roles.js";

const TOPIC_CHARS = 250;

export class GroupSettings {
  // dom: {dialog, form, name, topic, error, cancel}
  constructor(dom, store, { t }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    this.state = null;
    this.opener = null;
    dom.cancel.addEventListener("click", () => dom.dialog.close());
    dom.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    dom.dialog.addEventListener("close", () => {
      const opener = this.opener;
      this.state = null;
      this.opener = null;
      if (opener?.isConnected) opener.focus();
    });
    // Someone else's change, or the reader's role taken away, while it is open.
    store.on("group-changed", (state) => {
      if (state === this.state && dom.dialog.open && !mayEdit(state.group)) dom.dialog.close();
    });
    store.on("group-removed", (state) => {
      if (state === this.state && dom.dialog.open) dom.dialog.close();
    });
  }

  open(state, opener) {
    const { dom } = this;
    this.state = state;
    this.opener = opener;
    dom.name.value = state.group.name;
    dom.topic.value = state.group.topic || "";
    dom.error.textContent = "";
    dom.dialog.showModal();
    dom.name.focus();
  }

  async save() {
    const { dom, state } = this;
    const name = dom.name.value.trim();
    const topic = dom.topic.value.trim();
    if (!name || name.length > 64) {
      dom.error.textContent = this.t("Use 1 to 64 characters.");
      dom.name.focus();
      return;
    }
    if (topic.length > TOPIC_CHARS) {
      dom.error.textContent = this.t("A topic can have up to 250 characters.");
      dom.topic.focus();
      return;
    }
    const changes = {};
    if (name !== state.group.name) changes.name = name;
    if (topic !== (state.group.topic || "")) changes.topic = topic;
    if (!Object.keys(changes).length) {
      dom.dialog.close();
      return;
    }
    try {
      const { group } = await api("PATCH", `/api/groups/${state.group.id}`, changes);
      if (this.store.groups.get(group.id) === state) this.store.addGroup({ ...state.group, ...group });
      dom.dialog.close();
    } catch (error) {
      dom.error.textContent = {
        group_exists: this.t("A group with that name already exists."),
        invalid_name: this.t("Use 1 to 64 characters."),
        invalid_topic: this.t("A topic can have up to 250 characters."),
        not_allowed: this.t("Only the owner and the moderators can change this group."),
      }[error.code] || this.t("Could not save the changes. Try again.");
      (error.code === "invalid_topic" ? dom.topic : dom.name).focus();
    }
  }
}
