// A menu button (the ARIA menu button pattern; items may be menuitemradio too): Enter, Space or an arrow opens
// the menu with the focus on an item; the arrows, Home and End move; Escape or
// Tab closes it, Escape returning the focus to the button; a click outside
// closes it too.

export class Menu {
  constructor(button, list) {
    this.button = button;
    this.list = list;
    button.addEventListener("click", () => (this.isOpen() ? this.close() : this.open(0)));
    button.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        this.open(event.key === "ArrowDown" ? 0 : -1);
      }
    });
    list.addEventListener("keydown", (event) => this.keys(event));
    list.addEventListener("click", (event) => {
      const item = event.target.closest('[role^="menuitem"]');
      // A radio item changes a setting in place: the focus goes back to the button.
      if (item) this.close({ focusButton: item.getAttribute("role") === "menuitemradio" });
    });
    list.addEventListener("focusout", (event) => {
      if (!this.list.contains(event.relatedTarget) && event.relatedTarget !== this.button) this.close({ focusButton: false });
    });
    document.addEventListener("pointerdown", (event) => {
      if (this.isOpen() && !this.list.contains(event.target) && !this.button.contains(event.target)) {
        this.close({ focusButton: false });
      }
    });
  }

  items() {
    return [...this.list.querySelectorAll('[role="menuitem"]:not([hidden]), [role="menuitemradio"]:not([hidden])')];
  }

  isOpen() {
    return !this.list.hidden;
  }

  open(index) {
    this.list.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.items().at(index)?.focus();
  }

  close({ focusButton = true } = {}) {
    if (!this.isOpen()) return;
    this.list.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    if (focusButton) this.button.focus();
  }

  keys(event) {
    const items = this.items();
    const index = items.indexOf(document.activeElement);
    const next = {
      ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: items.length - 1,
    }[event.key];
    if (next !== undefined) {
      event.preventDefault();
      items[(next + items.length) % items.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    } else if (event.key === "Tab") {
      this.close({ focusButton: false });
    }
  }
}
