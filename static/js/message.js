// How one message or one pending send looks: a new node each time, built from
// text nodes only. The conversation decides where the nodes go.

import { el, linkify } from "./dom.js";

const THUMB_SIZE = 512;

export class MessageViews {
  constructor(me, { t, locale, onRetry }) {
    this.me = me;
    this.t = t;
    this.onRetry = onRetry;
    this.timeFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
    this.dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
  }

  message(message) {
    const mine = message.user.id === this.me.id;
    const article = el("article", mine ? "message mine" : "message");
    article.dataset.id = message.id;
    const head = el("header", "meta");
    const time = el("time", "", this.timeFormat.format(new Date(message.created_at)));
    time.dateTime = message.created_at;
    time.title = this.dateFormat.format(new Date(message.created_at));
    head.append(el("span", "author", message.user.username), time);
    article.append(head, message.image ? this.image(message) : this.text(message.text || ""));
    return article;
  }

  text(text) {
    const body = el("p", "text");
    body.append(linkify(text));
    return body;
  }

  image(message) {
    const { url, thumb_url: thumbUrl, width, height } = message.image;
    const link = el("a", "image-link");
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener";
    const img = el("img", "thumb");
    const scale = Math.min(1, THUMB_SIZE / Math.max(width, height));
    img.width = Math.max(1, Math.round(width * scale));
    img.height = Math.max(1, Math.round(height * scale));
    img.src = thumbUrl;
    img.alt = this.t("Image from {name}", { name: message.user.username });
    img.loading = "lazy";
    link.append(img);
    return link;
  }

  pending(entry) {
    const article = el("article", `message mine pending ${entry.state}`);
    const head = el("header", "meta");
    const status = entry.state === "failed" ? this.t("Not sent: {reason}", { reason: entry.error }) : this.t("Sending…");
    head.append(el("span", "author", this.me.username), el("span", "status", status));
    article.append(head, entry.file ? this.upload(entry) : this.text(entry.text));
    if (entry.state === "failed") {
      const retry = el("button", "link-button", this.t("Try again"));
      retry.type = "button";
      retry.addEventListener("click", () => this.onRetry(entry));
      article.append(retry);
    }
    return article;
  }

  upload(entry) {
    const box = el("div", "upload");
    box.append(el("span", "file-name", entry.file.name || this.t("Image")));
    if (entry.state !== "failed") {
      const bar = el("progress");
      bar.max = 1;
      bar.value = entry.progress;
      bar.setAttribute("aria-label", this.t("Uploading {name}", { name: entry.file.name || this.t("Image") }));
      box.append(bar);
    }
    return box;
  }

  // An upload's progress moves its bar only: the pending node stays.
  progress(node, entry) {
    const bar = node?.querySelector("progress");
    if (bar) bar.value = entry.progress;
  }
}
