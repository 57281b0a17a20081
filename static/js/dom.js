// Small DOM helpers shared by the views. User text only ever goes through
// textContent or text nodes here, never innerHTML, so a message cannot run or
// inject anything.

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Text with its http(s) links made clickable and, outside them, the mentions of
// `mentions` (users) highlighted (the one of `me` apart); everything else stays text.
export function linkify(text, mentions = [], me = null) {
  const fragment = document.createDocumentFragment();
  const mention = mentionPattern(mentions);
  const plain = (part) => fragment.append(mention ? mentionify(part, mention, me) : part);
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const url = match[0].replace(/[.,;:!?)\]]+$/, "");
    plain(text.slice(last, match.index));
    const link = el("a", "", url);
    link.href = url;
    link.rel = "noopener noreferrer nofollow";
    link.target = "_blank";
    fragment.append(link);
    last = match.index + url.length;
  }
  plain(text.slice(last));
  return fragment;
}

// `@name` of a mentioned user, any case, a whole word (as the server reads it).
function mentionPattern(mentions) {
  const names = (mentions || []).map((user) => user.username.replace(/[^\p{L}\p{N}_]/gu, "")).filter(Boolean);
  if (!names.length) return null;
  return new RegExp(`(?<![\\p{L}\\p{N}_@])@(${names.join("|")})(?![\\p{L}\\p{N}_])`, "giu");
}

function mentionify(text, pattern, me) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    fragment.append(text.slice(last, match.index));
    const mine = me && match[1].toLocaleLowerCase() === me.username.toLocaleLowerCase();
    fragment.append(el("span", mine ? "mention me" : "mention", match[0]));
    last = match.index + match[0].length;
  }
  fragment.append(text.slice(last));
  return fragment;
}

// A stroked 24×24 icon, hidden from screen readers (its button has a name).
export function icon(path, size = 18) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const line = document.createElementNS(ns, "path");
  line.setAttribute("d", path);
  for (const [name, value] of [["fill", "none"], ["stroke", "currentColor"], ["stroke-width", "2"],
    ["stroke-linecap", "round"], ["stroke-linejoin", "round"]]) line.setAttribute(name, value);
  svg.append(line);
  return svg;
}

// Focus what opened a dialog or an editor; when a change replaced its message's
// node meanwhile, the same control in the new node (data-focus), else its time.
export function refocus(opener, messageId) {
  if (opener?.isConnected) {
    opener.focus();
    return;
  }
  const node = document.querySelector(`.message[data-id="${messageId}"]`);
  const key = opener?.dataset?.focus;
  ((key && node?.querySelector(`[data-focus="${CSS.escape(key)}"]`)) || node?.querySelector("time.stamp"))?.focus();
}
