// The in-page image viewer: a modal <dialog> with the full image, who sent it
// and when, a close button, Escape to close, ← → (and buttons) to move among
// the images of the open group. Closing gives focus back to the thumbnail of
// the image last shown (or to the one that opened it).

import { el } from "./dom.js";

export class Viewer {
  // images() lists the open group's image messages in order; thumb(id) is the
  // thumbnail link of one, when it is shown.
  constructor(parent, { t, days, images, thumb }) {
    this.t = t;
    this.days = days;
    this.images = images;
    this.thumb = thumb;
    this.list = [];
    this.index = 0;
    this.opener = null;
    const dialog = el("dialog", "viewer");
    dialog.setAttribute("aria-labelledby", "viewer-caption");
    const head = el("div", "viewer-head");
    this.caption = el("p", "viewer-caption");
    this.caption.id = "viewer-caption";
    this.counter = el("p", "viewer-counter");
    const close = this.button("viewer-close", t("Close"), "×", () => dialog.close());
    head.append(this.caption, this.counter, close);
    this.previous = this.button("viewer-step previous", t("Previous image"), "‹", () => this.step(-1));
    this.next = this.button("viewer-step next", t("Next image"), "›", () => this.step(1));
    this.img = el("img", "viewer-image");
    const stage = el("div", "viewer-stage");
    stage.append(this.previous, this.img, this.next);
    dialog.append(head, stage);
    dialog.addEventListener("keydown", (event) => {
      const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
      if (step && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        this.step(step);
      }
    });
    // A click on the backdrop (outside the dialog's box) closes it too.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog || event.target === stage) dialog.close();
    });
    dialog.addEventListener("close", () => this.closed());
    this.dialog = dialog;
    this.closeButton = close;
    parent.append(dialog);
  }

  button(className, label, symbol, onClick) {
    const button = el("button", className, symbol);
    button.type = "button";
    button.setAttribute("aria-label", label);
    button.title = label;
    button.addEventListener("click", onClick);
    return button;
  }

  open(message, opener) {
    this.list = this.images();
    this.index = Math.max(0, this.list.findIndex((item) => item.id === message.id));
    if (!this.list.length) this.list = [message];
    this.opener = opener;
    this.render();
    this.dialog.showModal();
    this.closeButton.focus();
  }

  step(by) {
    const index = this.index + by;
    if (index < 0 || index >= this.list.length) return;
    this.index = index;
    this.render();
  }

  render() {
    const message = this.list[this.index];
    const { url, width, height } = message.image;
    this.img.removeAttribute("src"); // no stale picture in the new box while it loads
    this.img.width = width;
    this.img.height = height;
    this.img.alt = this.t("Image from {name}", { name: message.user.username });
    this.img.src = url;
    this.caption.textContent = `${message.user.username} · ${this.days.exact(new Date(message.created_at))}`;
    this.counter.textContent = this.t("{index} of {count}", { index: this.index + 1, count: this.list.length });
    for (const node of [this.counter, this.previous, this.next]) node.hidden = this.list.length < 2;
    // aria-disabled, not disabled: a focused button keeps its focus at the end of the row.
    this.previous.setAttribute("aria-disabled", String(this.index === 0));
    this.next.setAttribute("aria-disabled", String(this.index === this.list.length - 1));
  }

  closed() {
    const shown = this.list[this.index];
    const target = (shown && this.thumb(shown.id)) || this.opener;
    this.img.removeAttribute("src");
    if (target?.isConnected) {
      target.scrollIntoView({ block: "nearest" });
      target.focus();
    }
  }

  isOpen() {
    return this.dialog.open;
  }
}
