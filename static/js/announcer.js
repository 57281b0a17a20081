// What a screen reader says when a new message arrives: a short line such as
// "ana: hello" in a visually hidden polite live region of its own. The message
// list itself stays silent (role=log with aria-live=off), so history loaded on
// opening a group or on scrolling up is never read out as news.

import { el } from "./dom.js";

const KEPT = 5; // lines left in the region (older ones go, silently)
const LONGEST = 160; // characters of a message said aloud

export class Announcer {
  constructor(parent) {
    this.region = el("div", "visually-hidden announcer");
    this.region.setAttribute("aria-live", "polite");
    this.region.setAttribute("aria-relevant", "additions");
    parent.append(this.region);
  }

  say(text) {
    const line = text.length > LONGEST ? `${text.slice(0, LONGEST - 1)}…` : text;
    this.region.append(el("p", "", line));
    while (this.region.childElementCount > KEPT) this.region.firstElementChild.remove();
  }
}
