// Sending: a message or an image is shown as pending at once and retried with
// the same client_id until the server answers, so a flaky network never
// doubles a message (the server keeps one message per client_id).
//
// A text is retried until it goes through. An image is retried a few times; an
// image that cannot go leaves the conversation and is handed to onImageFailed
// with the reason and whether trying again can help: never for a file that is
// too large or not an image, only for a connection or a server in trouble.

import { api, backoff, isTransient, sleep, upload } from "./api.js";

export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const IMAGE_ATTEMPTS = 4;

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Outbox {
  // onImageFailed(state, entry, {reason, retry}): an image that was not sent.
  constructor(store, t, { onImageFailed = () => {} } = {}) {
    this.store = store;
    this.t = t;
    this.onImageFailed = onImageFailed;
  }

  // reply: the reply_to object of the message answered (the pending send shows it), or null.
  sendText(state, text, reply = null) {
    this.enqueue(state, { text, reply });
  }

  sendImage(state, file, reply = null) {
    this.enqueue(state, { file, progress: 0, reply });
  }

  // Why a file can never be sent, before trying; "" when it may be.
  refusal(file) {
    if (file.size > MAX_IMAGE_BYTES) return this.reason({ code: "image_too_large" });
    if (file.type && !IMAGE_TYPES.includes(file.type)) return this.reason({ code: "unsupported_image" });
    return "";
  }

  // Shown as pending at once.
  enqueue(state, fields) {
    const entry = { clientId: newClientId(), state: "sending", error: "", ...fields };
    this.store.addPending(state, entry);
    this.deliver(state, entry);
  }

  // A failed text (from the conversation's "Try again") or image (from the composer's).
  retry(state, entry) {
    entry.state = "sending";
    entry.error = "";
    if (state.pending.has(entry.clientId)) this.store.updatePending(state, entry);
    else {
      entry.progress = 0;
      this.store.addPending(state, entry);
    }
    this.deliver(state, entry);
  }

  post(state, entry) {
    const group = `/api/groups/${state.group.id}`;
    const replyTo = entry.reply ? { reply_to: entry.reply.seq } : {};
    if (!entry.file) return api("POST", `${group}/messages`, { text: entry.text, client_id: entry.clientId, ...replyTo });
    const form = new FormData();
    form.append("client_id", entry.clientId);
    if (entry.reply) form.append("reply_to", String(entry.reply.seq));
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
        if (!isTransient(error) || (entry.file && attempt >= IMAGE_ATTEMPTS)) {
          this.failed(state, entry, error);
          return;
        }
        await sleep(error.retryAfter ? error.retryAfter * 1000 : backoff(attempt));
      }
    }
  }

  failed(state, entry, error) {
    entry.state = "failed";
    entry.error = this.reason(error);
    entry.retryable = isTransient(error);
    if (!entry.file) {
      this.store.updatePending(state, entry);
      return;
    }
    this.store.removePending(state, entry.clientId);
    this.onImageFailed(state, entry, { reason: entry.error, retry: isTransient(error) });
  }

  // What went wrong, in the page's words (never the server's English message).
  reason(error) {
    return {
      not_member: this.t("You are not a member of this group any more."),
      message_not_found: this.t("The message you replied to was deleted."),
      group_not_found: this.t("You are not a member of this group any more."),
      image_too_large: this.t("The image is too large: at most 10 MB and 50 megapixels."),
      unsupported_image: this.t("That file is not a PNG, JPEG, GIF or WebP image."),
      // The composer refuses a text over the limit before it is sent: what the server refuses is a
      // character it does not take (NUL, or half of a surrogate pair).
      invalid_text: this.t("This text cannot be sent: it contains a character that is not allowed."),
      rate_limited: this.t("Too many messages at once. Wait a moment and try again."),
    }[error.code] || (isTransient(error)
      ? this.t("Could not reach the server. Check your connection and try again.")
      : this.t("Something went wrong. Try again."));
  }
}
