// The composer: Enter sends (Shift+Enter adds a line), typing is announced at
// most every few seconds, and images come by the button, a paste or a drop on
// the conversation. What is sent goes to the outbox.

import { api } from "./api.js";

const TYPING_SEND_EVERY_MS = 3000;

export class Composer {
  // dom: {form, message, attach, file, dropZone}
  constructor(dom, store, outbox) {
    this.dom = dom;
    this.store = store;
    this.outbox = outbox;
    this.lastTypingSent = 0;
    dom.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    dom.message.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    dom.message.addEventListener("input", () => this.typed());
    dom.message.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])].filter((file) => file.type.startsWith("image/"));
      if (files.length) {
        event.preventDefault();
        files.forEach((file) => this.submitImage(file));
      }
    });
    dom.attach.addEventListener("click", () => dom.file.click());
    dom.file.addEventListener("change", () => {
      [...dom.file.files].forEach((file) => this.submitImage(file));
      dom.file.value = "";
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
      [...event.dataTransfer.files].forEach((file) => this.submitImage(file));
    });
  }

  submit() {
    const state = this.store.active();
    const text = this.dom.message.value.trim();
    if (!state || !text) return;
    this.dom.message.value = "";
    this.lastTypingSent = 0; // a sent message ends "typing…" for the others: the next keystroke says it again
    this.outbox.sendText(state, text);
  }

  submitImage(file) {
    const state = this.store.active();
    if (state) this.outbox.sendImage(state, file);
  }

  typed() {
    const state = this.store.active();
    const now = Date.now();
    if (!state || !this.dom.message.value.trim() || now - this.lastTypingSent < TYPING_SEND_EVERY_MS) return;
    this.lastTypingSent = now;
    api("POST", `/api/groups/${state.group.id}/typing`).catch(() => {});
  }
}
