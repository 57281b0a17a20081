// Where the person is, and where the focus goes. On a phone (600 px wide or
// less) the page has two screens: the list of groups first, then the open
// group's conversation with a back control (the browser's back button works too).
// On a wider screen the tabs and the conversation show together.
//
// Focus: after a group is opened, switched to, joined or created, the message
// box has the focus on a wide screen; on a phone the group's heading gets it
// instead, so that opening a group does not pop the keyboard up (as WhatsApp and
// Slack do on phones); sending keeps the focus in the box everywhere.

export const PHONE_QUERY = "(max-width: 600px)";

export class Nav {
  // dom: {root, message, title, add}
  constructor(dom, store) {
    this.dom = dom;
    this.store = store;
    this.query = window.matchMedia(PHONE_QUERY);
    this.pushed = false; // whether opening the conversation added a history entry
    this.listeners = [];
    this.set("list");
    window.addEventListener("popstate", () => {
      if (!this.pushed) return;
      this.pushed = false;
      this.showList();
    });
    this.query.addEventListener("change", () => this.changed());
  }

  isPhone() {
    return this.query.matches;
  }

  // On a phone showing the list, the open group's messages are out of sight (still unread).
  conversationHidden() {
    return this.isPhone() && this.screen === "list";
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  set(screen) {
    this.screen = screen;
    this.dom.root.dataset.screen = screen;
    for (const listener of this.listeners) listener(screen);
  }

  openChat() {
    if (this.screen !== "chat") {
      this.set("chat");
      if (this.isPhone() && !this.pushed) {
        window.history.pushState({ screen: "chat" }, "");
        this.pushed = true;
      }
    }
    const state = this.store.active();
    if (state) this.store.markRead(state);
  }

  // The back control: through the history when opening added an entry, so that the
  // browser's back button and this one agree.
  back() {
    if (this.pushed) window.history.back();
    else this.showList();
  }

  showList() {
    const state = this.store.active();
    this.set("list");
    if (!this.isPhone()) return;
    const tab = state && document.getElementById(`tab-${state.group.id}`);
    (tab || this.dom.add).focus();
  }

  changed() {
    if (!this.isPhone() && this.screen === "list" && this.store.active()) this.set("chat");
  }

  dialogOpen() {
    return Boolean(document.querySelector("dialog[open]"));
  }

  // After a group is opened, switched to, joined or created.
  focusConversation() {
    if (this.dialogOpen() || !this.store.active()) return;
    if (!this.isPhone()) this.dom.message.focus();
    else if (this.screen === "chat") this.dom.title.focus();
  }
}
