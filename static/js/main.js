// Boots the chat page and wires its parts: the store holds the state, the
// stream, the loader and the outbox feed it, and each view listens to it and
// updates its own part of the page. The strings and the user come from data
// attributes (the Content-Security-Policy allows no inline script).

import { api } from "./api.js";
import { Composer } from "./composer.js";
import { Conversation } from "./conversation.js";
import { GroupsDialog } from "./groups-dialog.js";
import { Loader } from "./loader.js";
import { OnlinePanel } from "./online.js";
import { Outbox } from "./outbox.js";
import { Store } from "./store.js";
import { EventStream } from "./stream.js";
import { Tabs } from "./tabs.js";
import { TypingLine } from "./typing.js";

const root = document.getElementById("app");
const $ = (id) => root.querySelector(`#${id}`);
const user = JSON.parse(root.dataset.user);
const strings = JSON.parse(root.dataset.strings);
const t = (key, params = {}) => (strings[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
const activeKey = `tornado_chat:${user.id}:active`;

const store = new Store(user, { isHidden: () => document.hidden });
const outbox = new Outbox(store, t);

// The views come before the loader (see Loader).
new Tabs($("tabs"), store, { t });
new Conversation({ empty: $("empty"), conversation: $("conversation"), messages: $("messages") }, store, {
  t,
  locale: root.dataset.locale,
  onNearTop: () => loader.older(store.active()),
  onRetry: (state, entry) => outbox.retry(state, entry),
});
new OnlinePanel({ panel: $("online-panel"), list: $("online"), toggle: $("toggle-online") }, store, { t });
new TypingLine($("typing"), store, { t });
new Composer(
  { form: $("composer"), message: $("message"), attach: $("attach"), file: $("image-file"), dropZone: $("conversation") },
  store,
  outbox,
);
new GroupsDialog(
  {
    dialog: $("groups-dialog"), open: $("open-groups"), close: $("close-groups"), list: $("group-list"),
    form: $("create-group"), name: $("group-name"), error: $("create-error"),
  },
  store,
  { t },
);
const loader = new Loader(store);

// The open tab survives a reload.
store.on("active", (state) => {
  if (state) localStorage.setItem(activeKey, String(state.group.id));
  else localStorage.removeItem(activeKey);
});
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && store.active()) store.markRead(store.active());
});

const stream = new EventStream(user.id, {
  onEvents: (events) => store.apply(events),
  onConnection: (ok) => {
    $("connection").hidden = ok;
  },
});
window.addEventListener("pagehide", () => stream.stop());

// Start-up: the stream first (history loaded after it cannot miss a message),
// then the joined groups, then the tab that was open before a reload.
await stream.start();
const me = await api("GET", "/api/me");
for (const group of me.groups) store.addGroup(group);
const stored = Number(localStorage.getItem(activeKey));
store.ready();
store.activate(store.groups.has(stored) ? stored : store.sortedGroups()[0]?.group.id ?? null);
root.dataset.ready = "true";
