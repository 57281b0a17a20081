// "Ana is typing…" under the open group's messages; it fades out on its own
// when no new notice comes within TYPING_SHOWN_MS.

import { TYPING_SHOWN_MS } from "./store.js";

export class TypingLine {
  constructor(line, store, { t }) {
    this.line = line;
    this.store = store;
    this.t = t;
    this.timer = null;
    store.on("active", () => this.render());
    store.on("typing", (state) => {
      if (state === store.active()) this.render();
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.render(), TYPING_SHOWN_MS + 50);
    });
  }

  render() {
    const state = this.store.active();
    if (!state) return;
    const names = this.store.typingNames(state);
    this.line.textContent = names.length === 0 ? ""
      : names.length === 1 ? this.t("{name} is typing…", { name: names[0] })
        : this.t("{names} are typing…", { names: names.join(", ") });
  }
}
