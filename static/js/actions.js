// A message's actions: Reply, React, Edit (your own texts) and Delete (your
// own). One toolbar for the whole log, put into the message the mouse is over
// or the focus is in (conversation.css shows it only then), so a thousand
// messages cost no more buttons than one. It is a toolbar: one tab stop, the
// arrow keys move among its buttons. On a touch screen a long press on a
// message opens the same actions as a sheet (action-sheet.js). A deleted
// message has none.

import { el, icon } from "./dom.js";

const LONG_PRESS_MS = 500;
const MOVE_TOLERANCE_PX = 10;

const ICONS = {
  reply: "M9 14L4 9l5-5M4 9h10a6 6 0 0 1 6 6v5",
  react: "M20 12a8 8 0 1 1-8-8M9 10h.01M15 10h.01M8.5 14.5a4.5 4.5 0 0 0 7 0M19 2v6M16 5h6",
  edit: "M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4",
  delete: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
};

// Which actions a message offers its reader.
export function actionsFor(message, me) {
  if (!message || message.deleted) return [];
  const mine = message.user.id === me.id;
  return ["reply", "react", ...(mine && message.kind === "text" ? ["edit"] : []), ...(mine ? ["delete"] : [])];
}

export class Actions {
  // run(action, state, message, opener) does one; openSheet(state, message, node) on a long press.
  constructor(log, store, { t, run, openSheet }) {
    this.log = log;
    this.store = store;
    this.run = run;
    this.openSheet = openSheet;
    this.toolbar = el("div", "actions");
    this.toolbar.setAttribute("role", "toolbar");
    this.toolbar.setAttribute("aria-label", t("Message actions"));
    const names = { reply: t("Reply"), react: t("React"), edit: t("Edit"), delete: t("Delete") };
    for (const action of Object.keys(ICONS)) {
      const button = el("button", `action ${action}`);
      button.type = "button";
      button.dataset.action = action;
      button.dataset.focus = `action ${action}`;
      button.setAttribute("aria-label", names[action]);
      button.title = names[action];
      if (action === "react" || action === "delete") button.setAttribute("aria-haspopup", "dialog");
      button.append(icon(ICONS[action], 18));
      this.toolbar.append(button);
    }
    // Handled for the whole log: a replaced node gets a copy of the toolbar (see adopt).
    log.addEventListener("click", (event) => {
      const button = event.target.closest(".actions button.action");
      const found = button && this.found(button.closest(".message"));
      if (found) this.run(button.dataset.action, found.state, found.message, button);
    });
    log.addEventListener("keydown", (event) => {
      if (event.target.closest(".actions")) this.keys(event);
    });
    log.addEventListener("pointerover", (event) => {
      if (event.pointerType === "mouse") this.attach(event.target.closest(".message"));
    });
    log.addEventListener("focusin", (event) => this.attach(event.target.closest(".message")));
    this.longPress();
  }

  found(node) {
    const state = this.store.active();
    const message = node && !node.classList.contains("pending") && state?.messages.get(Number(node.dataset.id));
    return message ? { state, message } : null;
  }

  buttons() {
    return [...this.toolbar.querySelectorAll("button.action")];
  }

  // Only the actions this message offers show; the first is the toolbar's tab stop.
  fit(actions) {
    const buttons = this.buttons();
    for (const button of buttons) button.hidden = !actions.includes(button.dataset.action);
    if (!buttons.some((button) => button.tabIndex === 0 && !button.hidden)) this.rove(buttons.find((button) => !button.hidden));
  }

  // The toolbar goes into this message's bubble (or away, for one without actions).
  attach(node) {
    if (!node || this.toolbar.parentNode === node.querySelector(":scope > .bubble")) return;
    const found = this.found(node);
    const actions = actionsFor(found?.message, this.store.me);
    if (!actions.length) {
      if (found && !this.toolbar.contains(document.activeElement)) this.toolbar.remove();
      return;
    }
    this.fit(actions);
    this.rove(this.buttons().find((button) => !button.hidden));
    const bubble = node.querySelector(":scope > .bubble");
    bubble.append(this.toolbar);
    // Over the bubble's top corner away from the avatar; from its left edge when the bubble is narrower.
    const narrow = !node.classList.contains("mine") && bubble.offsetWidth < this.toolbar.offsetWidth + 12;
    if (narrow !== this.toolbar.classList.contains("from-left")) this.toolbar.classList.toggle("from-left", narrow);
  }

  // A message's node is being replaced (conversation.replace): the new node, before
  // it goes in, gets a copy of the toolbar the old one had, so that nothing else
  // in the page changes (the old one leaves with the old node).
  adopt(old, node, message) {
    if (!old.contains(this.toolbar)) return;
    this.toolbar = this.toolbar.cloneNode(true);
    const actions = actionsFor(message, this.store.me);
    if (!actions.length) return;
    this.fit(actions);
    node.querySelector(":scope > .bubble").append(this.toolbar);
  }

  rove(button) {
    for (const other of this.buttons()) other.tabIndex = other === button ? 0 : -1;
  }

  keys(event) {
    const shown = this.buttons().filter((button) => !button.hidden);
    const at = shown.indexOf(document.activeElement);
    const to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: shown.length - 1 }[event.key];
    if (at < 0 || to === undefined) return;
    event.preventDefault();
    const button = shown[(to + shown.length) % shown.length];
    this.rove(button);
    button.focus();
  }

  // A finger held still on a message: the action sheet (and no text selection or
  // context menu of the browser's).
  longPress() {
    let timer = 0;
    let start = null;
    // The finger lifted after the sheet opened must not tap what is now under it.
    let swallow = false;
    window.addEventListener("click", (event) => {
      if (!swallow) return;
      swallow = false;
      event.preventDefault();
      event.stopPropagation();
    }, { capture: true });
    window.addEventListener("pointerdown", () => {
      swallow = false;
    }, { capture: true });
    const stop = () => {
      clearTimeout(timer);
      timer = 0;
      start = null;
    };
    this.log.addEventListener("pointerdown", (event) => {
      if (event.pointerType !== "touch") return;
      const node = event.target.closest(".message");
      const found = this.found(node);
      if (!found || !actionsFor(found.message, this.store.me).length || event.target.closest("a, button, textarea")) return;
      start = { x: event.clientX, y: event.clientY };
      timer = setTimeout(() => {
        stop();
        this.pressed = Date.now();
        swallow = true;
        const now = this.found(node);
        if (now && node.isConnected) this.openSheet(now.state, now.message, node);
      }, LONG_PRESS_MS);
    });
    this.log.addEventListener("pointermove", (event) => {
      if (start && Math.hypot(event.clientX - start.x, event.clientY - start.y) > MOVE_TOLERANCE_PX) stop();
    });
    for (const type of ["pointerup", "pointercancel", "scroll"]) this.log.addEventListener(type, stop);
    this.log.addEventListener("contextmenu", (event) => {
      if (Date.now() - (this.pressed || 0) < 1000 || timer) event.preventDefault();
    });
  }
}
