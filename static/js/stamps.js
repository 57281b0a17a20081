// The keyboard among the message times: one of them is the log's tab stop
// (a roving tabindex, so that the times cost one Tab, not one each), the
// arrow keys, Home and End move among them, and a focused time shows the
// exact date and time (conversation.css). The newest message's time is the
// stop until the reader moves it.

const STAMPS = ":scope > .message time.stamp";

export class Stamps {
  constructor(log) {
    this.log = log;
    this.current = null;
    log.addEventListener("focusin", (event) => {
      if (event.target.matches("time.stamp")) this.rove(event.target);
    });
    log.addEventListener("keydown", (event) => this.keys(event));
  }

  // Whether a new node's time should be the stop (there is none yet).
  wanted() {
    return !this.current?.isConnected;
  }

  // The stop is now this node's time (built as one: no further change).
  took(node) {
    this.current = node.querySelector("time.stamp");
  }

  holds(node) {
    return Boolean(this.current) && node.contains(this.current);
  }

  // After a list is built: the newest time becomes the stop if none is.
  ensure() {
    if (!this.wanted()) return;
    const last = [...this.log.querySelectorAll(STAMPS)].at(-1);
    if (last) this.rove(last);
  }

  forget() {
    this.current = null;
  }

  rove(stamp) {
    if (this.current === stamp) return;
    if (this.current) this.current.tabIndex = -1;
    stamp.tabIndex = 0;
    this.current = stamp;
  }

  keys(event) {
    if (!event.target.matches("time.stamp") || event.altKey || event.ctrlKey || event.metaKey) return;
    const stamps = [...this.log.querySelectorAll(STAMPS)];
    const at = stamps.indexOf(event.target);
    const to = stamps[{ ArrowUp: at - 1, ArrowDown: at + 1, Home: 0, End: stamps.length - 1 }[event.key]];
    if (!to) return;
    event.preventDefault();
    to.focus();
  }
}
