// How one message or one pending send looks: a new node each time, built from
// text nodes only. The conversation decides where the nodes go and whether a
// message continues its author's run (then only its text shows; its time
// appears on hover and on focus).

import { avatar, colourOf } from "./avatar.js";
import { el } from "./dom.js";
import { renderText } from "./format.js";
import { reactionsNode } from "./reactions.js";
import { quoteNode } from "./reply.js";
import { mentions } from "./store.js";

const THUMB_SIZE = 512; // the server's thumbnails: at most this on a side
const THUMB_SHOWN_HEIGHT = 320; // shown at most this high (and never wider than the column)
const LONG_CHARS = 1200; // a text longer than this, or with more lines, starts collapsed
const LONG_LINES = 12;

export class MessageViews {
  // days: a Days (clock and exact times); format: a Format (numbers); editing(message): the
  // editor shown in its place while it is being edited, else null; onRetry(entry) sends a failed
  // one again, onDismiss(entry) drops one that can never be sent; onOpenImage(message, link) opens the viewer.
  constructor(me, { t, days, format, editing = () => null, onRetry, onDismiss, onOpenImage }) {
    this.me = me;
    this.t = t;
    this.days = days;
    this.format = format;
    this.editing = editing;
    this.onRetry = onRetry;
    this.onDismiss = onDismiss;
    this.onOpenImage = onOpenImage;
  }

  // continued: it continues its author's run; expanded: a long text shows
  // whole; tabStop: its time is the log's one tab stop.
  message(message, { continued = false, expanded = false, tabStop = false } = {}) {
    const mine = message.user.id === this.me.id;
    const mentioned = !mine && !message.deleted && mentions(message, this.me);
    const article = el("article", `message${mine ? " mine" : ""}${continued ? " continued" : ""}${mentioned ? " mentions-me" : ""}`);
    article.dataset.id = message.id;
    const head = el("header", "meta");
    head.append(this.author(message, mine), this.stamp(message, tabStop));
    // A message that mentions the reader is marked (a bar and a tint, conversation.css); a
    // screen reader hears it too.
    if (mentioned) head.append(el("span", "sr-only", this.t("Mentions you")));
    const bubble = el("div", "bubble");
    bubble.append(head);
    const editor = !message.deleted && this.editing(message);
    if (message.deleted) bubble.append(el("p", "text deleted", this.t("This message was deleted")));
    else if (message.reply_to) bubble.append(quoteNode(message.reply_to, this.t));
    if (editor) {
      bubble.classList.add("editing");
      bubble.append(editor);
    } else if (message.image && !message.deleted) bubble.append(this.image(message));
    else if (!message.deleted) this.text(bubble, message, expanded);
    if (message.edited_at && !message.deleted) head.append(this.edited(message));
    if (!mine) article.append(avatar(message.user));
    article.append(bubble);
    const reactions = reactionsNode(message, this.me, { t: this.t, format: this.format });
    if (reactions) article.append(reactions);
    return article;
  }

  // The author's name; someone else's opens their card (user-card.js) on a click.
  // It is not a tab stop (the log keeps one): the keyboard reaches the same card
  // from the members dialog and the online list.
  author(message, mine) {
    const classes = `author c${colourOf(message.user.id)}`;
    if (mine || message.deleted) return el("span", classes, message.user.username);
    const button = el("button", classes, message.user.username);
    button.type = "button";
    button.tabIndex = -1;
    button.dataset.user = String(message.user.id);
    button.setAttribute("aria-haspopup", "dialog");
    return button;
  }

  // "(edited)" after the time, with when on hover (its title) and on focus (the time's title says it too).
  edited(message) {
    const mark = el("span", "edited", this.t("(edited)"));
    mark.title = this.t("Edited {time}", { time: this.days.exact(new Date(message.edited_at)) });
    return mark;
  }

  // The time as the locale writes it; the exact date and time on hover (title)
  // and on focus (conversation.css shows the title beside it). The conversation
  // makes one of them a tab stop and moves among them with the arrow keys.
  stamp(message, tabStop) {
    const date = new Date(message.created_at);
    const time = el("time", "stamp", this.days.clock(date));
    time.dateTime = message.created_at;
    time.title = this.days.exact(date);
    if (message.edited_at && !message.deleted) {
      time.title += ` · ${this.t("Edited {time}", { time: this.days.exact(new Date(message.edited_at)) })}`;
    }
    time.tabIndex = tabStop ? 0 : -1;
    time.dataset.focus = "stamp";
    return time;
  }

  // A long text starts collapsed, with a button to show all of it.
  text(bubble, message, expanded) {
    const text = message.text || "";
    const body = el("div", "text");
    body.append(renderText(text, { mentions: message.mentions, me: this.me.id }));
    bubble.append(body);
    if (text.length <= LONG_CHARS && text.split("\n").length <= LONG_LINES) return;
    body.id = `text-${message.id}`;
    const more = el("button", "more");
    more.type = "button";
    more.dataset.focus = "more";
    more.setAttribute("aria-controls", body.id);
    const set = (open) => {
      body.classList.toggle("collapsed", !open);
      more.setAttribute("aria-expanded", String(open));
      more.textContent = open ? this.t("Show less") : this.t("Show more");
    };
    more.addEventListener("click", () => set(more.getAttribute("aria-expanded") !== "true"));
    set(expanded);
    bubble.append(more);
  }

  // A thumbnail whose box is known before it loads (nothing moves when it
  // arrives); a click, or Enter on it, opens the in-page viewer.
  image(message) {
    const { url, thumb_url: thumbUrl, width, height } = message.image;
    const link = el("a", "image-link");
    link.href = url;
    link.dataset.focus = "image";
    const img = el("img", "thumb");
    const thumb = Math.min(1, THUMB_SIZE / Math.max(width, height));
    const shown = thumb * Math.min(1, THUMB_SHOWN_HEIGHT / Math.max(1, height * thumb));
    img.width = Math.max(1, Math.round(width * shown));
    img.height = Math.max(1, Math.round(height * shown));
    img.src = thumbUrl;
    img.alt = this.t("Image from {name}", { name: message.user.username });
    img.loading = "lazy";
    img.decoding = "async";
    link.append(img);
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      this.onOpenImage(message, link);
    });
    return link;
  }

  // Whether a node's long text is open, so that a replaced node keeps it.
  expanded(node) {
    return node?.querySelector(".more")?.getAttribute("aria-expanded") === "true";
  }

  pending(entry) {
    const article = el("article", `message mine pending ${entry.state}`);
    const bubble = el("div", "bubble");
    if (entry.reply) bubble.append(quoteNode(entry.reply, this.t));
    if (entry.file) bubble.append(this.upload(entry));
    else bubble.append(el("p", "text", entry.text));
    const status = entry.state === "failed" ? this.t("Not sent: {reason}", { reason: entry.error }) : this.t("Sending…");
    const foot = el("p", "status-line");
    foot.append(el("span", "status", status));
    if (entry.state === "failed") {
      // "Try again" only where trying again can help; a refusal for good can only be dismissed.
      const action = el("button", "link-button", this.t(entry.retryable ? "Try again" : "Dismiss"));
      action.type = "button";
      action.addEventListener("click", () => (entry.retryable ? this.onRetry(entry) : this.onDismiss(entry)));
      foot.append(action);
    }
    bubble.append(foot);
    article.append(bubble);
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
