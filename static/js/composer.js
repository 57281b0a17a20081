// The composer: Enter sends (Shift+Enter adds a line), typing is announced at
// most every few seconds, and images come by the button, a paste or a drop on
// the conversation, each shown as a preview until Send (attachments.js). Each
// group keeps its draft. Near the 4,000-character limit a counter shows; over
// it, Send is refused and says how many characters to remove: a draft is never
// cut. What is sent goes to the outbox, as a reply while the reply bar is open
// (Escape closes it). ↑ in an empty box edits your last message.

import { api } from "./api.js";

const TYPING_SEND_EVERY_MS = 3000;
export const TEXT_LIMIT = 4000; // characters (code points) after trimming, as the server counts
const COUNT_FROM = 3500;

export class Composer {
  // dom: {form, message, send, counter, attach, file, dropZone}; reply: the ReplyBar;
  // onEditLast() edits your last message and says whether there was one.
  constructor(dom, store, outbox, attachments, { t, format, reply, onEditLast }) {
    this.dom = dom;
    this.reply = reply;
    this.store = store;
    this.outbox = outbox;
    this.attachments = attachments;
    this.t = t;
    this.format = format;
    this.lastTypingSent = 0;
    this.drafts = new Map(); // group id -> text not sent yet
    dom.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    dom.message.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      } else if (event.key === "Escape" && this.reply.cancel()) {
        event.preventDefault();
      } else if (event.key === "ArrowUp" && !dom.message.value && !event.shiftKey && !event.altKey
        && !event.ctrlKey && !event.metaKey && onEditLast()) {
        event.preventDefault();
      }
    });
    dom.message.addEventListener("input", () => {
      this.count();
      this.typed();
    });
    dom.message.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])].filter((file) => file.type.startsWith("image/"));
      if (files.length) {
        event.preventDefault();
        this.attachments.add(files);
      }
    });
    dom.attach.addEventListener("click", () => dom.file.click());
    dom.file.addEventListener("change", () => {
      this.attachments.add([...dom.file.files]);
      dom.file.value = "";
      dom.message.focus();
    });
    const zone = dom.dropZone;
    zone.addEventListener("dragover", (event) => {
      if ([...event.dataTransfer.types].includes("Files")) {
        event.preventDefault();
        zone.classList.add("dropping");
      }
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dropping"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dropping");
      this.attachments.add([...event.dataTransfer.files]);
      dom.message.focus();
    });
    store.on("active", (state, previous) => this.switched(state, previous));
  }

  // Each group keeps its draft.
  switched(state, previous) {
    if (previous === state) return;
    if (previous) this.drafts.set(previous.group.id, this.dom.message.value);
    this.dom.message.value = (state && this.drafts.get(state.group.id)) || "";
    this.count();
  }

  length() {
    return [...this.dom.message.value.trim()].length;
  }

  submit() {
    const state = this.store.active();
    if (!state) return;
    const text = this.dom.message.value.trim();
    if (this.length() > TEXT_LIMIT) {
      this.count({ refused: true });
      this.dom.message.focus();
      return;
    }
    const files = this.attachments.take(state);
    const reply = files.length || text ? this.reply.take(state) : null;
    for (const file of files) this.outbox.sendImage(state, file, reply);
    if (text) {
      this.dom.message.value = "";
      this.drafts.delete(state.group.id);
      this.lastTypingSent = 0; // a sent message ends "typing…" for the others: the next keystroke says it again
      this.outbox.sendText(state, text, reply);
    }
    this.count();
    this.dom.message.focus(); // sending keeps the focus in the box, on a phone too (the keyboard stays)
  }

  // The counter near the limit, and the refusal over it.
  count({ refused = false } = {}) {
    const { dom } = this;
    const length = this.length();
    const over = length - TEXT_LIMIT;
    dom.send.disabled = over > 0;
    dom.counter.hidden = length < COUNT_FROM;
    dom.counter.classList.toggle("over", over > 0);
    if (over > 0) dom.message.setAttribute("aria-invalid", "true");
    else dom.message.removeAttribute("aria-invalid");
    // Spoken only when it matters: when the draft goes over the limit or Send is refused.
    dom.counter.setAttribute("aria-live", over > 0 ? "polite" : "off");
    if (over > 0) {
      dom.counter.textContent = this.format.plural(over, {
        one: (n) => this.t("Too long: remove {count} character to send it.", { count: n }),
        other: (n) => this.t("Too long: remove {count} characters to send it.", { count: n }),
      });
      if (refused && !window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
        dom.counter.animate([{ transform: "translateX(-4px)" }, { transform: "translateX(4px)" }, { transform: "none" }], 200);
      }
    } else {
      dom.counter.textContent = this.format.plural(TEXT_LIMIT - length, {
        one: (n) => this.t("{count} character left", { count: n }),
        other: (n) => this.t("{count} characters left", { count: n }),
      });
    }
  }

  typed() {
    const state = this.store.active();
    const now = Date.now();
    if (!state || !this.dom.message.value.trim() || now - this.lastTypingSent < TYPING_SEND_EVERY_MS) return;
    this.lastTypingSent = now;
    api("POST", `/api/groups/${state.group.id}/typing`).catch(() => {});
  }
}
