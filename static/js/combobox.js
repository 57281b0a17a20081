// A text field with a list of suggestions: the WAI-ARIA combobox pattern (1.2)
// with list autocomplete. The focus stays in the field; ↓ and ↑ move through the
// options (aria-activedescendant), Enter or a click takes one into the field,
// Escape closes the list (a second Escape is the dialog's), Alt+↓ opens it.
// Enter with the list closed submits the form as usual.

import { el } from "./dom.js";

export class Combobox {
  // input: the role=combobox field; listbox: its role=listbox; options(text) -> [{id, label}];
  // onPick(option) after an option was taken.
  constructor(input, listbox, { options, onPick = () => {} }) {
    this.input = input;
    this.listbox = listbox;
    this.options = options;
    this.onPick = onPick;
    this.shown = [];
    this.active = -1;
    input.addEventListener("input", () => this.open());
    input.addEventListener("focus", () => this.open());
    input.addEventListener("keydown", (event) => this.keys(event));
    input.addEventListener("blur", () => setTimeout(() => {
      if (document.activeElement !== input) this.close();
    }, 150));
    // A click on an option keeps the focus in the field (no blur first).
    listbox.addEventListener("pointerdown", (event) => event.preventDefault());
    listbox.addEventListener("click", (event) => {
      const option = event.target.closest('[role="option"]');
      if (option) this.pick(Number(option.dataset.index));
    });
  }

  isOpen() {
    return !this.listbox.hidden;
  }

  open() {
    this.shown = this.options(this.input.value);
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
    this.listbox.replaceChildren(...this.shown.map((option, index) => {
      const node = el("li", "option");
      node.id = `${this.listbox.id}-${index}`;
      node.setAttribute("role", "option");
      node.setAttribute("aria-selected", "false");
      node.dataset.index = String(index);
      if (option.node) node.append(option.node);
      else node.textContent = option.label;
      return node;
    }));
    const open = this.shown.length > 0;
    this.listbox.hidden = !open;
    this.input.setAttribute("aria-expanded", String(open));
  }

  close() {
    this.listbox.hidden = true;
    this.active = -1;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  move(to) {
    const nodes = [...this.listbox.children];
    if (!nodes.length) return;
    this.active = (to + nodes.length) % nodes.length;
    nodes.forEach((node, index) => node.setAttribute("aria-selected", String(index === this.active)));
    const node = nodes[this.active];
    this.input.setAttribute("aria-activedescendant", node.id);
    node.scrollIntoView({ block: "nearest" });
  }

  pick(index) {
    const option = this.shown[index];
    if (!option) return;
    this.input.value = option.label;
    this.close();
    this.input.focus();
    this.onPick(option);
  }

  keys(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!this.isOpen()) {
        this.open();
        if (event.altKey) return;
      }
      this.move(this.active < 0 && event.key === "ArrowUp" ? -1 : this.active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && this.isOpen() && this.active >= 0) {
      event.preventDefault();
      this.pick(this.active);
    } else if (event.key === "Escape" && this.isOpen()) {
      event.preventDefault(); // the list closes, not the dialog around it
      event.stopPropagation();
      this.close();
    } else if (event.key === "Tab") {
      this.close();
    }
  }
}
