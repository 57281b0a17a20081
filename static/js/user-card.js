// A person's card (issue 15): a click on a name (a message's author, someone in
// the online list) opens it beside the name, as Slack and Discord do, with a
// button that starts a direct conversation. A small modal dialog: Escape, the
// close button or a click outside close it, the focus going back to the name.
// On a phone it rises from the bottom (css/members.css).

import { colourOf, initials } from "./avatar.js";
import { outside } from "./dom.js";
import { PHONE_QUERY } from "./nav.js";

export class UserCard {
  // dom: {dialog, avatar, name, role, close, message, error}; onMessage(user) starts a direct conversation.
  constructor(dom, store, { t, onMessage }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    this.onMessage = onMessage;
    this.user = null;
    this.opener = null;
    dom.close.addEventListener("click", () => dom.dialog.close());
    dom.dialog.addEventListener("click", (event) => {
      if (event.target === dom.dialog && outside(dom.dialog, event)) dom.dialog.close();
    });
    dom.dialog.addEventListener("close", () => {
      const opener = this.opener;
      this.opener = null;
      if (opener?.isConnected && !this.leaving) opener.focus();
      this.leaving = false;
    });
    dom.message.addEventListener("click", () => this.message());
  }

  open(user, opener) {
    const { dom } = this;
    const me = user.id === this.store.me.id;
    this.user = user;
    this.opener = opener;
    this.leaving = false;
    dom.avatar.className = `avatar big c${colourOf(user.id)}`;
    dom.avatar.textContent = initials(user.username);
    dom.name.textContent = user.username;
    const online = this.store.active()?.online.has(user.id);
    dom.role.textContent = me ? this.t("This is you") : online ? this.t("Online now") : "";
    dom.role.classList.toggle("online", Boolean(online));
    dom.message.textContent = me ? this.t("Write a note to yourself") : this.t("Send a direct message");
    dom.error.textContent = "";
    dom.dialog.showModal();
    this.place(opener);
    dom.message.focus();
  }

  // Beside the name on a wide screen, within the window.
  place(opener) {
    const { dialog } = this.dom;
    if (window.matchMedia(PHONE_QUERY).matches || !opener) {
      dialog.style.removeProperty("top");
      dialog.style.removeProperty("left");
      return;
    }
    const at = opener.getBoundingClientRect();
    const width = dialog.offsetWidth;
    const height = dialog.offsetHeight;
    const left = Math.max(8, Math.min(at.left, window.innerWidth - width - 8));
    const below = at.bottom + 6;
    const top = below + height < window.innerHeight - 8 ? below : Math.max(8, at.top - height - 6);
    dialog.style.left = `${left}px`;
    dialog.style.top = `${top}px`;
  }

  // The card closes first, so that the conversation, once open, takes the focus;
  // on a failure it opens again to say so.
  async message() {
    const { dom } = this;
    const { user, opener } = this;
    this.leaving = true;
    dom.dialog.close();
    try {
      await this.onMessage(user);
    } catch (error) {
      if (!opener?.isConnected) return;
      this.open(user, opener);
      dom.error.textContent = error.code === "user_not_found"
        ? this.t("This account no longer exists.")
        : this.t("Could not open the conversation. Try again.");
    }
  }
}
