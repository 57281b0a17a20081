// Boots the chat page and wires its parts: the store holds the state, the
// stream, the loader and the outbox feed it, and each view listens to it and
// updates its own part of the page. The strings and the user come from data
// attributes (the Content-Security-Policy allows no inline script).

import { Account } from "./account.js";
import { ActionSheet } from "./action-sheet.js";
import { Actions } from "./actions.js";
import { api } from "./api.js";
import { Attachments } from "./attachments.js";
import { Composer } from "./composer.js";
import { LeaveConfirm } from "./confirm.js";
import { Conversation } from "./conversation.js";
import { DeleteConfirm } from "./delete-confirm.js";
import { Direct } from "./direct.js";
import { Editor } from "./editor.js";
import { GroupSettings } from "./group-settings.js";
import { GroupsDialog } from "./groups-dialog.js";
import { GroupHeader } from "./header.js";
import { Jumper } from "./jump.js";
import { Loader } from "./loader.js";
import { MembersDialog } from "./members.js";
import { MentionBox } from "./mention.js";
import { Nav } from "./nav.js";
import { Notifications } from "./notify.js";
import { OnlinePanel } from "./online.js";
import { Outbox } from "./outbox.js";
import { People } from "./people.js";
import { Picker } from "./picker.js";
import { Format } from "./plural.js";
import { Reactions } from "./reactions.js";
import { ReadMarker } from "./read.js";
import { followQuotes, ReplyBar } from "./reply.js";
import { isDirect } from "./roles.js";
import { MessageSearch } from "./search.js";
import { OnlineSheet } from "./sheet.js";
import { Store } from "./store.js";
import { EventStream } from "./stream.js";
import { Tabs } from "./tabs.js";
import { Toasts } from "./toasts.js";
import { TypingLine } from "./typing.js";
import { UserCard } from "./user-card.js";

const root = document.getElementById("app");
const $ = (id) => root.querySelector(`#${id}`);
const user = JSON.parse(root.dataset.user);
const strings = JSON.parse(root.dataset.strings);
const t = (key, params = {}) => (strings[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
const locale = root.dataset.locale;
const format = new Format(t, locale);
const activeKey = `tornado_chat:${user.id}:active`;

// A new message is read as it arrives only when its conversation is in sight at the
// bottom: not while the page is hidden, a phone shows the list of groups, the
// reader has scrolled up (issue 16: read state on the server, read.js), or is in older
// history gone to from a search (issue 17: jump.js).
const inSight = () => !document.hidden && !nav.conversationHidden() && !store.active()?.jumped;
const store = new Store(user, { inView: (state) => state === store.active() && inSight() && conversation.pinned });
const nav = new Nav({ root, message: $("message"), title: $("group-title"), add: $("open-groups") }, store);

// Opening a group: from a tab, the groups dialog (Open, Create), or at start.
function openGroup(id) {
  store.activate(id);
  nav.openChat();
  nav.focusConversation();
}

const confirm = new LeaveConfirm(
  { dialog: $("leave-dialog"), title: $("leave-title"), error: $("leave-error"), cancel: $("leave-cancel"), confirm: $("leave-confirm") },
  store,
  {
    t,
    onLeft: () => {
      if (nav.isPhone()) nav.back();
      else if (store.active()) nav.focusConversation();
      else $("open-groups").focus();
    },
  },
);
// Issue 15: direct conversations, the people the page knows, the members dialog, group
// settings, a person's card, and the notice of a removal.
const direct = new Direct(store, {
  onOpen: (id) => {
    if (nav.isPhone() && sheet.isOpen()) sheet.close({ restore: false });
    openGroup(id);
  },
  onClosed: () => {
    if (nav.isPhone()) nav.back();
    else if (store.active()) nav.focusConversation();
    else $("open-groups").focus();
  },
});
// A direct conversation's X (or its menu item) closes its tab: it cannot be left.
const leave = (state, opener) => (isDirect(state.group) ? direct.close(state) : confirm.ask(state, opener));
const people = new People(store);
const members = new MembersDialog(
  {
    dialog: $("members-dialog"), title: $("members-title"), about: $("members-about"), close: $("close-members"),
    form: $("add-member"), input: $("add-member-name"), options: $("add-member-options"), error: $("add-member-error"),
    done: $("add-member-done"), list: $("member-list"), menu: $("member-menu"),
    confirm: {
      dialog: $("member-confirm"), title: $("member-confirm-title"), text: $("member-confirm-text"),
      error: $("member-confirm-error"), cancel: $("member-confirm-cancel"), ok: $("member-confirm-ok"),
    },
  },
  store,
  people,
  { t, format, onMessage: (user) => direct.start(user).catch(() => notice(t("Could not open the conversation. Try again."))) },
);
const settings = new GroupSettings(
  {
    dialog: $("settings-dialog"), form: $("settings-form"), name: $("settings-name"), topic: $("settings-topic"),
    error: $("settings-error"), cancel: $("settings-cancel"),
  },
  store,
  { t },
);
const card = new UserCard(
  {
    dialog: $("user-card"), avatar: $("user-card-avatar"), name: $("user-card-name"), role: $("user-card-role"),
    close: $("user-card-close"), message: $("user-card-message"), error: $("user-card-error"),
  },
  store,
  { t, onMessage: (user) => direct.start(user) },
);
// Removed or banned: a notice until dismissed, and the focus kept on the page.
const toasts = new Toasts($("toasts"), { t });
toasts.watchRemovals(store, () => (store.active() ? nav.focusConversation() : $("open-groups").focus()));
const sheet = new OnlineSheet(
  {
    panel: $("online-panel"), close: $("close-online"), backdrop: $("sheet-backdrop"), toggles: [$("toggle-online")],
    inert: [root.querySelector(".topbar"), root.querySelector(".account"), $("connection"), $("conversation")],
  },
  store,
);
const attachments = new Attachments({ tray: $("attachments"), message: $("message") }, store, {
  t,
  format,
  refusal: (file) => outbox.refusal(file),
  onRetry: (state, entry) => outbox.retry(state, entry),
  onChange: () => {},
});
const outbox = new Outbox(store, t, { onImageFailed: (state, entry, why) => attachments.failed(state, entry, why) });

// The views come before the loader (see Loader).
new Tabs({ tablist: $("tablist"), list: $("tabs"), panel: $("conversation") }, store, {
  t, format, onOpen: openGroup, onLeave: leave,
});
const header = new GroupHeader(
  {
    title: $("group-title"), members: $("member-count"), online: $("toggle-online"), back: $("back"),
    menuButton: $("group-menu-button"), menu: $("group-menu"), menuOnline: $("menu-online"), menuLeave: $("menu-leave"),
    topic: $("group-topic"), settings: $("group-settings-button"), kind: $("group-kind"), avatar: $("peer-avatar"),
  },
  store,
  {
    t,
    format,
    onBack: () => nav.back(),
    onOnline: (opener) => sheet.toggle(opener),
    onShowOnline: (opener) => sheet.open(opener, { focus: true }),
    onLeave: leave,
    onMembers: (state, opener) => members.open(state, opener),
    onSettings: (state, opener) => settings.open(state, opener),
  },
);
// A message's actions (issue 13): reply, react, edit in place, delete.
const picker = new Picker(root, { t, storageKey: `tornado_chat:${user.id}:recent-emoji`, isPhone: () => nav.isPhone() });
const replyBar = new ReplyBar({ bar: $("replying"), message: $("message") }, store, { t });
const announce = (text) => conversation.announcer.say(text);
const editor = new Editor(store, { t, refresh: (message) => conversation.replace(message), announce });
const conversation = new Conversation({ empty: $("empty"), conversation: $("conversation"), messages: $("messages") }, store, {
  t,
  locale,
  format,
  editing: (message) => editor.editing(message),
  onNearTop: () => loader.older(store.active()).catch(() => {}),
  onRetry: (state, entry) => outbox.retry(state, entry),
  onReplaced: (old, node, message) => actions.adopt(old, node, message),
});
const deleting = new DeleteConfirm(root, store, { t, announce });
const reading = new ReadMarker(store, { inSight, newestInView: () => conversation.newestInView() });
$("messages").addEventListener("scroll", () => reading.look(), { passive: true });
nav.onChange(() => reading.look());
let noticeTimer = 0;
const notice = (text) => { // a failure said near the composer, for a while
  $("notice").textContent = text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { $("notice").textContent = ""; }, 8000);
};
const reactions = new Reactions($("messages"), store, picker, { t, onFailed: notice });
const act = {
  reply: (state, message) => replyBar.start(state, message),
  react: (state, message, opener) => reactions.pick(state, message, opener),
  edit: (state, message, opener) => editor.start(state, message, opener),
  delete: (state, message, opener) => deleting.ask(state, message, opener),
};
const run = (action, ...args) => act[action](...args);
const actionSheet = new ActionSheet(root, store, picker, {
  t, run, react: (state, message, emoji) => reactions.toggle(state, message, emoji, true),
});
const actions = new Actions($("messages"), store, {
  t, run, openSheet: (state, message, node) => actionSheet.open(state, message, node),
});
// A reply's quote goes to its original, loading older history until it is there.
followQuotes($("messages"), async (seq) => {
  const state = store.active();
  const held = await loader.until(state, seq);
  if (store.active() === state && !(held && conversation.reveal(seq))) notice(t("The original message is not available."));
});
const online = new OnlinePanel({ panel: $("online-panel"), list: $("online"), offline: $("online-offline") }, store, {
  t, onPerson: (user, button) => card.open(user, button),
});
// A message's author opens the same card.
$("messages").addEventListener("click", (event) => {
  const button = event.target.closest("button.author");
  const message = button && store.active()?.messages.get(Number(button.closest(".message")?.dataset.id));
  if (message) card.open(message.user, button);
});
new TypingLine($("typing"), store, { t });
// Before the composer: the suggestions after "@" take their keys first.
new MentionBox({ message: $("message"), popup: $("mention-popup"), list: $("mention-options"), status: $("mention-status") }, store, { t, format });
new Composer(
  {
    form: $("composer"), message: $("message"), send: $("send"), counter: $("counter"), attach: $("attach"),
    file: $("image-file"), dropZone: $("conversation"),
  },
  store,
  outbox,
  attachments,
  {
    t,
    format,
    reply: replyBar,
    onEditLast: () => {
      const state = store.active();
      const last = state && store.lastEditable(state);
      if (last) editor.start(state, last, $("message"));
      return Boolean(last);
    },
  },
);
new GroupsDialog(
  {
    dialog: $("groups-dialog"), title: $("groups-title"), open: $("open-groups"), close: $("close-groups"), search: $("group-search"),
    status: $("group-search-status"), list: $("group-list"), empty: $("group-list-empty"), form: $("create-group"),
    name: $("group-name"), error: $("create-error"), more: $("create-more"), topic: $("group-topic-input"),
  },
  store,
  {
    t,
    format,
    onOpen: openGroup,
    isPhone: () => nav.isPhone(),
    // After joining, the person is in the last group joined; else back where they were.
    onClosed: (joined) => {
      if (joined && !nav.isPhone()) nav.focusConversation();
      else if (!root.contains(document.activeElement) || document.activeElement === document.body) $("open-groups").focus();
    },
  },
);
const loader = new Loader(store);
// Search and your account (issue 17): a result opens its group at the message, in context.
const jumper = new Jumper({ bar: $("jumped"), button: $("jump-latest"), log: $("messages") }, store, loader, conversation, {
  t, onOpen: openGroup, onFailed: notice,
});
new MessageSearch(
  {
    root, form: $("search-form"), input: $("search-input"), panel: $("search-panel"), status: $("search-status"),
    hint: $("search-hint"), list: $("search-results"), more: $("search-more"), close: $("search-close"),
  },
  store,
  {
    t,
    format,
    locale,
    onChoose: (message) => jumper.go(message.group_id, message.seq),
    onDismiss: () => (store.active() && !nav.isPhone() ? nav.focusConversation() : $("open-groups").focus()),
    canFocus: () => !nav.dialogOpen() && !(nav.isPhone() && sheet.isOpen()),
  },
);
new Account(
  {
    button: $("account-button"), menu: $("account-menu"), download: $("download-data"), close: $("close-account"),
    dialog: {
      dialog: $("close-account-dialog"), form: $("close-account-form"), password: $("close-account-password"),
      error: $("close-account-error"), cancel: $("close-account-cancel"), submit: $("close-account-submit"),
    },
  },
  { t },
);
// Someone joined the open group (the other person, at a direct conversation's first message): who is online now.
store.on("member", (state, event) => {
  if (event.joined && state === store.active()) loader.online(state).catch(() => {});
});

// The open tab survives a reload.
store.on("active", (state) => {
  if (state) localStorage.setItem(activeKey, String(state.group.id));
  else localStorage.removeItem(activeKey);
});
// Notification levels, the bell, and notifications on this device (issue 16).
new Notifications(
  {
    bell: $("notify-button"), menu: $("group-menu"), dialog: $("notify-dialog"), close: $("notify-close"),
    legend: $("notify-legend"), levels: $("notify-levels"), state: $("notify-state"), enable: $("notify-enable"),
    disable: $("notify-disable"), error: $("notify-error"),
  },
  store,
  { t, userId: user.id },
);
// A notification's click (service-worker.js) opens its group in this page.
navigator.serviceWorker?.addEventListener("message", (event) => {
  const id = Number(event.data?.group_id);
  if (event.data?.type === "open-group" && store.groups.has(id)) openGroup(id);
});

let connected = true;
const stream = new EventStream(user.id, {
  onEvents: (events) => store.apply(events),
  onConnection: (ok) => {
    $("connection").hidden = ok;
    online.connection(ok);
    header.connection(ok);
    if (ok && !connected && store.active()) loader.online(store.active()); // who came and went meanwhile
    connected = ok;
  },
});
window.addEventListener("pagehide", () => stream.stop());

// Start-up: the stream first (history loaded after it cannot miss a message),
// then the joined groups, then the tab that was open before a reload. A phone
// starts on the list of groups; a wider screen in the conversation, with the
// focus in the message box.
await stream.start();
const me = await api("GET", "/api/me");
direct.admit(me.groups);
// The group to open: the one a notification named (/?group=ID), else the one open before.
const asked = Number(new URLSearchParams(window.location.search).get("group"));
if (asked) window.history.replaceState(window.history.state, "", "/");
const stored = Number(localStorage.getItem(activeKey));
store.ready();
const first = [asked, stored].find((id) => store.groups.has(id));
store.activate(first ?? store.sortedGroups()[0]?.group.id ?? null);
if (asked && store.groups.has(asked)) nav.openChat(); // on a phone too: the notification was about it
if (!nav.isPhone() && store.active()) {
  nav.openChat();
  nav.focusConversation();
}
root.dataset.ready = "true";
