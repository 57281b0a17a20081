// Notifications (issue 16): each group's level (all new messages, only mentions,
// nothing) chosen from the group menu or the bell's dialog (PATCH .../membership)
// and shown by the bell in the header; and notifications on this device. The
// page never asks for permission by itself: only the "Enable notifications"
// button does, under an explanation of what it does. Then the browser is
// subscribed for Web Push (GET /api/push's key, POST /api/push/subscriptions),
// so that the service worker shows messages while the page is closed; while the
// page is open but hidden, the page shows them itself. "Turn off" undoes both.

import { api } from "./api.js";
import { icon } from "./dom.js";
import { displayName, isDirect } from "./roles.js";

export const LEVELS = ["all", "mentions", "none"];
const BELL = "M6 9a6 6 0 0 1 12 0c0 5 2 7 2 7H4s2-2 2-7M10.3 20a2 2 0 0 0 3.4 0";
const BELL_OFF = "M6 9a6 6 0 0 1 1-3.3M9.5 3.5A6 6 0 0 1 18 9c0 5 2 7 2 7H8M10.3 20a2 2 0 0 0 3.4 0M3 3l18 18";
const AT = "M16 12a4 4 0 1 1-8 0 4 4 0 0 1 8 0zM16 12v1.5a2.5 2.5 0 0 0 5 0V12a9 9 0 1 0-3.5 7.1";
const ICON_URL = "/static/icons/icon-192.png";

// Whether a message notifies the reader at a group's level (the server's rule for pushes):
// never their own; "all": every message; "mentions": those that mention them, and every
// message of a direct conversation; "none": nothing.
export function notifies(store, state, message) {
  if (message.user.id === store.me.id || message.deleted) return false;
  if (state.notify === "all") return true;
  if (state.notify === "mentions") return isDirect(state.group) || store.mentionsMe(message);
  return false;
}

function keyBytes(base64url) {
  const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

export class Notifications {
  // dom: {bell, menu (the group menu list), dialog, close, legend, levels (fieldset), state, enable, disable, error}
  constructor(dom, store, { t, userId }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    this.key = `tornado_chat:${userId}:notifications`;
    this.opener = null;
    this.supported = "Notification" in window && "serviceWorker" in navigator;
    this.pushSupported = this.supported && "PushManager" in window;
    this.registration = this.supported
      ? navigator.serviceWorker.register("/service-worker.js", { scope: "/" }).catch(() => null)
      : Promise.resolve(null);
    this.radios = [...dom.menu.querySelectorAll("[data-notify]")];
    for (const item of this.radios) item.addEventListener("click", () => this.choose(item.dataset.notify));
    dom.bell.addEventListener("click", () => this.open(dom.bell));
    dom.close.addEventListener("click", () => dom.dialog.close());
    dom.levels.addEventListener("change", (event) => {
      if (event.target.name === "notify") this.choose(event.target.value);
    });
    dom.enable.addEventListener("click", () => this.enable());
    dom.disable.addEventListener("click", () => this.disable());
    dom.dialog.addEventListener("close", () => {
      const opener = this.opener;
      this.opener = null;
      if (opener?.isConnected) opener.focus();
    });
    const mine = (state) => state === store.active() && this.render();
    store.on("active", () => this.render());
    store.on("unread", mine);
    store.on("group-changed", mine);
    store.on("message", (state, message, { mine: own }) => {
      if (!own) this.show(state, message);
    });
    // On here before (the permission given then): the server is told of this browser's
    // subscription again, which a sign-out deleted with its session (no prompt: no new permission).
    if (this.on()) this.subscribe();
  }

  // The bell and the menu's radio items say the open group's level.
  render() {
    const state = this.store.active();
    if (!state) return;
    const level = state.notify;
    const { bell, dialog, levels, legend } = this.dom;
    bell.dataset.level = level;
    bell.replaceChildren(icon(level === "none" ? BELL_OFF : level === "mentions" ? AT : BELL, 20));
    const label = this.t("Notifications: {level}", { level: this.levelName(level) });
    bell.setAttribute("aria-label", label);
    bell.title = label;
    for (const item of this.radios) item.setAttribute("aria-checked", String(item.dataset.notify === level));
    if (dialog.open) {
      legend.textContent = this.t("In {group}, notify me about", { group: displayName(state.group) });
      for (const radio of levels.querySelectorAll('input[name="notify"]')) radio.checked = radio.value === level;
    }
  }

  levelName(level) {
    return { all: this.t("All new messages"), mentions: this.t("Only @mentions"), none: this.t("Nothing") }[level];
  }

  async choose(level) {
    const state = this.store.active();
    if (!state || !LEVELS.includes(level)) return;
    const was = state.notify;
    this.store.setNotify(state, level); // at once; the answer (or a failure) settles it
    try {
      const { group } = await api("PATCH", `/api/groups/${state.group.id}/membership`, { notify: level });
      if (group?.notify) this.store.setNotify(state, group.notify);
    } catch {
      this.store.setNotify(state, was);
      this.say(this.t("Could not change the notifications. Try again."), true);
    }
  }

  open(opener) {
    const state = this.store.active();
    if (!state) return;
    this.opener = opener;
    this.dom.error.textContent = "";
    this.dom.dialog.showModal();
    this.render();
    this.device();
    const checked = this.dom.levels.querySelector('input[name="notify"]:checked');
    (checked ?? this.dom.close).focus();
  }

  // This device: on (permission granted and enabled here), off, blocked, or not possible.
  on() {
    return this.supported && Notification.permission === "granted" && localStorage.getItem(this.key) === "on";
  }

  device() {
    const { enable, disable, state } = this.dom;
    const blocked = this.supported && Notification.permission === "denied";
    enable.hidden = !this.supported || blocked || this.on();
    disable.hidden = !this.on();
    state.classList.toggle("on", this.on());
    state.textContent = !this.supported ? this.t("This browser cannot show notifications.")
      : blocked ? this.t("Notifications are blocked for this site. Allow them in your browser's site settings.")
        : this.on() ? this.t("Notifications are on for this device.") : this.t("Notifications are off for this device.");
  }

  say(text, error = false) {
    this.dom.error.textContent = error ? text : "";
    if (!error) this.dom.state.textContent = text;
  }

  // Only on this button's press: the browser asks for permission, then the push
  // subscription goes to the server.
  async enable() {
    if (!this.supported) return;
    this.dom.enable.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        this.device();
        return;
      }
      localStorage.setItem(this.key, "on");
      this.device();
      if (!(await this.subscribe())) {
        this.say(this.t("Notifications will show while this page is open. This browser could not subscribe for when it is closed."));
      }
      this.dom.disable.focus();
    } finally {
      this.dom.enable.disabled = false;
    }
  }

  async subscribe() {
    if (!this.pushSupported) return false;
    try {
      const registration = await navigator.serviceWorker.ready;
      const { public_key: key } = await api("GET", "/api/push");
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameKey(subscription, key)) {
        await subscription.unsubscribe();
        subscription = null;
      }
      subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      await api("POST", "/api/push/subscriptions", subscription.toJSON());
      return true;
    } catch {
      return false;
    }
  }

  async disable() {
    localStorage.removeItem(this.key);
    try {
      const registration = this.pushSupported ? await navigator.serviceWorker.ready : null;
      const subscription = registration && (await registration.pushManager.getSubscription());
      if (subscription) {
        await api("DELETE", "/api/push/subscriptions", { endpoint: subscription.endpoint }).catch(() => {});
        await subscription.unsubscribe();
      }
    } catch {
      // the device is off for the page either way
    }
    this.device();
    if (!this.dom.enable.hidden) this.dom.enable.focus();
  }

  // While the page is open but out of sight, a message that notifies shows as a
  // notification from the page itself (tagged by group: a burst replaces, not stacks).
  async show(state, message) {
    if (!document.hidden || !this.on() || !notifies(this.store, state, message)) return;
    const registration = await this.registration;
    if (!registration) return;
    const text = message.image ? "📷" : [...(message.text || "")].slice(0, 120).join("");
    const id = state.group.id;
    await registration.showNotification(displayName(state.group), {
      body: `${message.user.username}: ${text}`,
      tag: `group-${id}`,
      renotify: true,
      icon: ICON_URL,
      data: { group_id: id, seq: message.seq, url: `/?group=${id}` },
    }).catch(() => {});
  }
}

// Whether a subscription was made with the server's key (a new key needs a new one).
function sameKey(subscription, key) {
  const held = subscription.options?.applicationServerKey;
  if (!held) return true;
  const bytes = new Uint8Array(held);
  const wanted = keyBytes(key);
  return bytes.length === wanted.length && bytes.every((byte, i) => byte === wanted[i]);
}
