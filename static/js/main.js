// Boots the chat page: its strings and user come from data attributes (the
// Content-Security-Policy allows no inline script).

import { Chat } from "./chat.js";
import { EventStream } from "./stream.js";

const root = document.getElementById("app");
const user = JSON.parse(root.dataset.user);
const strings = JSON.parse(root.dataset.strings);
const t = (key, params = {}) => (strings[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));

const chat = new Chat(root, { user, t, locale: root.dataset.locale });
const stream = new EventStream(user.id, {
  onEvents: (events) => chat.applyEvents(events),
  onConnection: (ok) => chat.showConnection(ok),
});
window.addEventListener("pagehide", () => stream.stop());

await stream.start();
await chat.load();
root.dataset.ready = "true";
