// The online panel opens and closes: beside the conversation on a wide screen
// (open by default when there is room), as a sheet from the bottom on a phone,
// over a backdrop, with the rest of the page inert until it closes. Escape and
// the close button close it; the focus goes back to the button that opened it.

import { PHONE_QUERY } from "./nav.js";

const ROOMY_QUERY = "(min-width: 1000px)";

export class OnlineSheet {
  // dom: {panel, close, backdrop, toggles: [buttons with aria-expanded], inert: [elements]}
  constructor(dom, store) {
    this.dom = dom;
    this.store = store;
    this.phone = window.matchMedia(PHONE_QUERY);
    this.wanted = window.matchMedia(ROOMY_QUERY).matches; // the column, on a wide screen
    this.sheetOpen = false;
    this.opener = null;
    dom.close.addEventListener("click", () => this.close());
    dom.backdrop.addEventListener("click", () => this.close());
    dom.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen()) {
        event.preventDefault();
        this.close();
      }
    });
    this.phone.addEventListener("change", () => {
      if (this.sheetOpen) this.close({ restore: false });
      this.render();
    });
    store.on("active", () => this.render());
  }

  isOpen() {
    return this.phone.matches ? this.sheetOpen : this.wanted;
  }

  toggle(opener) {
    if (this.isOpen()) this.close();
    else this.open(opener);
  }

  // focus: move the focus into the panel (always on a phone, where it is modal).
  open(opener, { focus = false } = {}) {
    this.opener = opener;
    if (this.phone.matches) this.sheetOpen = true;
    else this.wanted = true;
    this.render();
    if (this.phone.matches || focus) this.dom.close.focus();
  }

  close({ restore = true } = {}) {
    const inside = this.dom.panel.contains(document.activeElement);
    if (this.phone.matches) this.sheetOpen = false;
    else this.wanted = false;
    this.render();
    const opener = this.opener?.isConnected && this.opener.offsetParent ? this.opener : this.dom.toggles[0];
    if (restore && (inside || this.phone.matches) && opener) opener.focus();
  }

  render() {
    const { dom } = this;
    const sheet = this.phone.matches && this.sheetOpen;
    const open = Boolean(this.store.active()) && this.isOpen();
    dom.panel.hidden = !open;
    dom.panel.classList.toggle("sheet", sheet);
    if (sheet) {
      dom.panel.setAttribute("role", "dialog");
      dom.panel.setAttribute("aria-modal", "true");
    } else {
      dom.panel.removeAttribute("role");
      dom.panel.removeAttribute("aria-modal");
    }
    dom.backdrop.hidden = !sheet;
    for (const element of dom.inert) element.inert = sheet;
    for (const toggle of dom.toggles) toggle.setAttribute("aria-expanded", String(open));
  }
}
