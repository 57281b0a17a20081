// Your account (issue 17): your name in the top bar opens a menu with "Download my
// data" (GET /api/me/export: a link with `download`, so the browser saves the zip
// as it comes, with the session cookie) and "Close account", which opens a dialog
// that says what closing costs, asks for the password and needs the red "Close my
// account" pressed (DELETE /api/me). A wrong password says so; once closed, the
// login page says the account is closed. "Log out" stays a button of its own.

import { api, ApiError, whenSignedOut } from "./api.js";
import { outside } from "./dom.js";
import { Menu } from "./menu.js";

const CLOSED_PAGE = "/login?closed=1"; // the login page says the account is closed

export class Account {
  // dom: {button, menu, download, close, dialog: {dialog, form, password, error, cancel, submit, download}}
  constructor(dom, { t }) {
    this.dom = dom;
    this.t = t;
    this.opener = null;
    this.menu = new Menu(dom.button, dom.menu);
    // The download leaves the page where it is: the menu closes, the focus back on its button.
    dom.download.addEventListener("click", () => {
      this.menu.close();
      dom.button.focus();
    });
    dom.close.addEventListener("click", () => this.ask(dom.button));
    const { dialog, form, cancel, password } = dom.dialog;
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.closeAccount();
    });
    password.addEventListener("input", () => this.error(""));
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog && outside(dialog, event)) dialog.close();
    });
    dialog.addEventListener("close", () => {
      dom.dialog.password.value = "";
      this.error("");
      if (this.opener?.isConnected) this.opener.focus();
      this.opener = null;
    });
  }

  ask(opener) {
    const { dialog, password, submit } = this.dom.dialog;
    this.opener = opener;
    this.error("");
    submit.disabled = false;
    dialog.showModal();
    password.focus();
  }

  error(text) {
    const { error, password } = this.dom.dialog;
    if (error.textContent !== text) error.textContent = text;
    if (text) password.setAttribute("aria-invalid", "true");
    else password.removeAttribute("aria-invalid");
  }

  async closeAccount() {
    const { password, submit } = this.dom.dialog;
    if (!password.value) {
      this.error(this.t("Enter your password to close your account."));
      password.focus();
      return;
    }
    submit.disabled = true;
    // The sessions end as the account closes: the long poll's 401 may come before this answer.
    whenSignedOut(CLOSED_PAGE);
    try {
      await api("DELETE", "/api/me", { password: password.value }, { toLogin: false });
    } catch (error) {
      whenSignedOut("/login");
      submit.disabled = false;
      if (error instanceof ApiError && error.status === 401 && error.code !== "invalid_credentials") {
        window.location.assign("/login"); // the session itself has ended
        return;
      }
      if (error instanceof ApiError && error.status === 401) this.error(this.t("Wrong password."));
      else if (error instanceof ApiError && error.status === 429) {
        this.error(this.t("Too many attempts. Wait a moment and try again."));
      } else this.error(this.t("Could not close the account. Try again."));
      password.select();
      password.focus();
      return;
    }
    window.location.assign(CLOSED_PAGE);
  }
}
