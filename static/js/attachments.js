// The images above the message box, for the open group: those picked, pasted
// or dropped wait here as a preview (thumbnail, name, size, Cancel) until Send;
// those that could not be sent stay here with the reason, a Dismiss button and,
// only when trying again can help, "Try again". Each group keeps its own.

import { el } from "./dom.js";

export class Attachments {
  // dom: {tray, message}; refusal(file) says why a file can never be sent ("" if it may be);
  // onRetry(state, entry) sends a failed image again; onChange() after any change.
  constructor(dom, store, { t, format, refusal, onRetry, onChange }) {
    this.dom = dom;
    this.tray = dom.tray;
    this.store = store;
    this.t = t;
    this.format = format;
    this.refusal = refusal;
    this.onRetry = onRetry;
    this.onChange = onChange;
    this.byGroup = new Map(); // group id -> [{kind: "picked" | "failed", file, url, reason, retry, entry, state}]
    store.on("active", () => this.render());
    store.on("group-removed", (state) => this.drop(state));
  }

  list(state) {
    if (!this.byGroup.has(state.group.id)) this.byGroup.set(state.group.id, []);
    return this.byGroup.get(state.group.id);
  }

  // Files picked, pasted or dropped: a preview each, or at once the reason it cannot go.
  add(files) {
    const state = this.store.active();
    if (!state || !files.length) return;
    for (const file of files) {
      const reason = this.refusal(file);
      const url = reason ? "" : URL.createObjectURL(file);
      this.list(state).push(reason ? { kind: "failed", file, reason, retry: false } : { kind: "picked", file, url });
    }
    this.render();
  }

  // The previews of the open group, taken to be sent.
  take(state) {
    const items = this.list(state);
    const picked = items.filter((item) => item.kind === "picked");
    this.byGroup.set(state.group.id, items.filter((item) => item.kind !== "picked"));
    for (const item of picked) URL.revokeObjectURL(item.url);
    if (picked.length) this.render();
    return picked.map((item) => item.file);
  }

  hasPicked(state) {
    return Boolean(state) && this.list(state).some((item) => item.kind === "picked");
  }

  // An image the outbox could not send.
  failed(state, entry, { reason, retry }) {
    this.list(state).push({ kind: "failed", file: entry.file, reason, retry, entry, state, fresh: true });
    if (state === this.store.active()) this.render();
  }

  remove(state, item) {
    this.byGroup.set(state.group.id, this.list(state).filter((other) => other !== item));
    if (item.url) URL.revokeObjectURL(item.url);
    this.render();
  }

  drop(state) {
    for (const item of this.byGroup.get(state.group.id) || []) if (item.url) URL.revokeObjectURL(item.url);
    this.byGroup.delete(state.group.id);
  }

  render() {
    const state = this.store.active();
    const items = state ? this.list(state) : [];
    this.tray.replaceChildren(...items.map((item) => this.node(state, item)));
    this.tray.hidden = !items.length;
    for (const item of items) item.fresh = false;
    this.onChange();
  }

  node(state, item) {
    const { file } = item;
    const name = file.name || this.t("Image");
    const node = el("li", `attachment ${item.kind}`);
    if (item.url) {
      const img = el("img", "preview");
      img.src = item.url;
      img.alt = this.t("Preview of {name}", { name });
      node.append(img);
    } else {
      node.append(el("span", "preview broken"));
    }
    const about = el("div", "about");
    const title = el("span", "file-name", name);
    title.title = name;
    about.append(title, el("span", "file-size", this.format.bytes(file.size)));
    if (item.kind === "failed") {
      const reason = el("span", "reason", this.t("Not sent: {reason}", { reason: item.reason }));
      if (item.fresh) reason.setAttribute("role", "alert");
      about.append(reason);
    }
    node.append(about);
    const actions = el("div", "actions");
    if (item.kind === "failed" && item.retry) {
      actions.append(this.button(this.t("Try again"), this.t("Try sending {name} again", { name }), () => {
        this.remove(state, item);
        this.onRetry(item.state, item.entry);
      }));
    }
    const [text, label] = item.kind === "picked"
      ? [this.t("Cancel"), this.t("Cancel {name}", { name })]
      : [this.t("Dismiss"), this.t("Dismiss {name}", { name })];
    actions.append(this.button(text, label, () => this.remove(state, item), true));
    node.append(actions);
    return node;
  }

  button(text, label, action, focusBox = false) {
    const button = el("button", "link-button", text);
    button.type = "button";
    button.setAttribute("aria-label", label);
    button.addEventListener("click", () => {
      action();
      if (focusBox) this.dom.message.focus();
    });
    return button;
  }
}
