// Going to a message in its context (issue 17: a search result). The group opens
// scrolled to that message with the history around it (loader.around) and the
// message highlighted a moment (conversation.reveal). When that stretch does not
// reach the newest message, the group is "jumped", as in Slack and Zulip: scrolling
// down loads newer pages (loader.newer), new messages are counted on the tab but
// not shown, and a bar over the composer offers "Jump to latest". Sending a message
// goes back to the latest first.

const NEAR_BOTTOM_PX = 200; // a newer page is asked for this far from the end

export class Jumper {
  // dom: {bar, button, log}; onOpen(id) opens a group (activates it, shows the conversation);
  // onFailed(text) says why a message could not be gone to.
  constructor(dom, store, loader, conversation, { t, onOpen, onFailed }) {
    this.dom = dom;
    this.store = store;
    this.loader = loader;
    this.conversation = conversation;
    this.t = t;
    this.onOpen = onOpen;
    this.onFailed = onFailed;
    dom.button.addEventListener("click", () => this.latest());
    dom.log.addEventListener("scroll", () => this.nearEnd(), { passive: true });
    store.on("active", () => this.bar());
    store.on("jumped", (state) => state === store.active() && this.bar());
    // Sending from older history: the latest first, where the message will show.
    store.on("pending-added", (state) => state.jumped && this.loader.latest(state).catch(() => {}));
  }

  // Opens group `groupId` at its message `seq`. Says whether it is shown.
  async go(groupId, seq) {
    let state = this.store.groups.get(groupId);
    if (!state && this.store.closed.has(groupId)) { // a direct conversation whose tab was closed opens again
      this.store.addGroup(this.store.closed.get(groupId));
      state = this.store.groups.get(groupId);
    }
    if (!state) {
      this.onFailed(this.t("The message is not available."));
      return false;
    }
    const held = state.historyLoaded && [...state.messages.values()].some((message) => message.seq === seq);
    if (!held) {
      let found = false;
      try {
        found = await this.loader.around(state, seq);
      } catch {
        this.onFailed(this.t("Could not open the message. Try again."));
        return false;
      }
      if (!found) {
        this.onFailed(this.t("The message is not available."));
        return false;
      }
    }
    if (!this.store.groups.has(groupId)) return false; // left meanwhile
    this.onOpen(groupId);
    return this.conversation.reveal(seq, { instant: !held });
  }

  // "Jump to latest": the newest messages, the reader at the bottom, the focus in the message box.
  async latest() {
    const state = this.store.active();
    if (!state?.jumped) return;
    try {
      await this.loader.latest(state);
    } catch {
      this.onFailed(this.t("Could not load the latest messages. Try again."));
      return;
    }
    if (this.store.active() !== state) return;
    this.conversation.scrollToBottom();
    this.conversation.pinned = true;
    this.onOpen(state.group.id);
  }

  nearEnd() {
    const state = this.store.active();
    const { log } = this.dom;
    if (state?.jumped && log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX) {
      this.loader.newer(state).catch(() => {});
    }
  }

  bar() {
    const jumped = Boolean(this.store.active()?.jumped);
    if (this.dom.bar.hidden === jumped) this.dom.bar.hidden = !jumped;
    if (!jumped && this.dom.bar.contains(document.activeElement)) this.dom.log.focus();
  }
}
