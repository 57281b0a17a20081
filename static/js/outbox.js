// Sending: a message or an image is shown as pending at once and retried with
// the same client_id until the server answers, so a flaky network never
// doubles a message (the server keeps one message per client_id).

import { api, backoff, isTransient, sleep, upload } from "./api.js";

const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Outbox {
  constructor(store, t) {
    this.store = store;
    this.t = t;
  }

  sendText(state, text) {
    this.enqueue(state, { text });
  }

  sendImage(state, file) {
    this.enqueue(state, { file, progress: 0 });
  }

  // Shown as pending at once; an image over the limit fails here without being sent.
  enqueue(state, fields) {
    const entry = { clientId: newClientId(), state: "sending", error: "", ...fields };
    this.store.addPending(state, entry);
    if (entry.file && entry.file.size > MAX_IMAGE_BYTES) this.failed(state, entry, { code: "image_too_large" });
    else this.deliver(state, entry);
  }

  retry(state, entry) {
    entry.state = "sending";
    this.store.updatePending(state, entry);
    this.deliver(state, entry);
  }

  post(state, entry) {
    const group = `/api/groups/${state.group.id}`;
    if (!entry.file) return api("POST", `${group}/messages`, { text: entry.text, client_id: entry.clientId });
    const form = new FormData();
    form.append("client_id", entry.clientId);
    form.append("image", entry.file);
    return upload(`${group}/images`, form, (fraction) => this.store.progress(state, entry, fraction));
  }

  // Until the message is confirmed, here or by the stream (either one ends the
  // pending entry), or the server refuses it for good.
  async deliver(state, entry) {
    for (let attempt = 1; state.pending.has(entry.clientId); attempt += 1) {
      try {
        const { message } = await this.post(state, entry);
        this.store.addMessage(state, message, { live: false });
        return;
      } catch (error) {
        if (!isTransient(error)) {
          this.failed(state, entry, error);
          return;
        }
        await sleep(error.retryAfter ? error.retryAfter * 1000 : backoff(attempt));
      }
    }
  }

  failed(state, entry, error) {
    entry.state = "failed";
    entry.error = {
      not_member: this.t("You are not a member of this group any more."),
      image_too_large: this.t("The image is too large: at most 10 MB and 50 megapixels."),
      unsupported_image: this.t("That file is not a PNG, JPEG, GIF or WebP image."),
    }[error.code] || error.message || this.t("Something went wrong. Try again.");
    this.store.updatePending(state, entry);
  }
}
