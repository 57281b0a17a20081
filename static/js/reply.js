// Replies: the quote a reply shows above its text (the original as it is now:
// its author and the start of its text; a click, or Enter, goes to the
// original), and the quote bar above the composer while a reply is being
// written ("Replying to ana: …", with a × to cancel it; each group keeps its own).

import { colourOf } from "./avatar.js";
import { el, icon } from "./dom.js";
import { quoteOf } from "./store.js";

// The quote of a message's reply_to. A deleted original cannot be gone to: its
// quote only says so.
export function quoteNode(reply, t) {
  if (reply.deleted) return el("p", "quote gone", t("Original message deleted"));
  const quote = el("button", `quote q${colourOf(reply.user.id)}`);
  quote.type = "button";
  quote.dataset.seq = reply.seq;
  quote.dataset.focus = "quote";
  quote.title = t("Go to the original message");
  quote.append(
    el("span", "visually-hidden", t("In reply to")),
    el("span", `quote-author c${colourOf(reply.user.id)}`, reply.user.username),
    el("span", "quote-text", excerpt(reply, t)),
  );
  return quote;
}

function excerpt(reply, t) {
  return reply.text == null ? `📷 ${t("Image")}` : reply.text.replace(/\s+/g, " ");
}

// The reply_to a message gets when it answers `message` (what a pending send shows).
export function replyTo(message) {
  return { seq: message.seq, user: message.user, kind: message.kind, ...quoteOf(message) };
}

// A click on a quote, anywhere in the log, goes to its original.
export function followQuotes(log, go) {
  log.addEventListener("click", (event) => {
    const quote = event.target.closest("button.quote");
    if (quote && log.contains(quote)) go(Number(quote.dataset.seq));
  });
}

export class ReplyBar {
  // dom: {bar, message (the composer's box)}
  constructor(dom, store, { t }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    this.targets = new Map(); // group id -> the message answered
    store.on("active", () => this.render());
    store.on("group-removed", (state) => this.targets.delete(state.group.id));
    // The original edited: the bar shows it as it is now; deleted: the reply is off.
    store.on("message-changed", (state, message) => {
      if (this.targets.get(state.group.id)?.id !== message.id) return;
      if (message.deleted) this.targets.delete(state.group.id);
      else this.targets.set(state.group.id, message);
      if (state === store.active()) this.render();
    });
  }

  start(state, message) {
    this.targets.set(state.group.id, message);
    this.render();
    this.dom.message.focus();
  }

  // Whether there was a reply to cancel.
  cancel() {
    const state = this.store.active();
    if (!state || !this.targets.delete(state.group.id)) return false;
    this.render();
    this.dom.message.focus();
    return true;
  }

  // The reply_to for what is sent now (the bar closes), or null.
  take(state) {
    const message = this.targets.get(state.group.id);
    if (!message) return null;
    this.targets.delete(state.group.id);
    this.render();
    return replyTo(message);
  }

  render() {
    const { bar } = this.dom;
    const state = this.store.active();
    const message = state && this.targets.get(state.group.id);
    bar.hidden = !message;
    if (!message) {
      bar.replaceChildren();
      return;
    }
    const about = el("p", "replying-text");
    const who = el("span", "replying-who", this.t("Replying to {name}", { name: message.user.username }));
    about.append(who, el("span", "visually-hidden", ": "), el("span", "replying-excerpt", excerpt(replyTo(message), this.t)));
    const cancel = el("button", "icon-button replying-cancel");
    cancel.type = "button";
    cancel.setAttribute("aria-label", this.t("Cancel reply"));
    cancel.title = this.t("Cancel reply");
    cancel.append(icon("M6 6l12 12M18 6L6 18"));
    cancel.addEventListener("click", () => this.cancel());
    bar.replaceChildren(about, cancel);
  }
}
