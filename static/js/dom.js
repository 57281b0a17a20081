// Small DOM helpers shared by the views. User text only ever goes through
// textContent or text nodes here, never innerHTML, so a message cannot run or
// inject anything.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
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

// For matching names and words: any case, any accents ("cafe" finds "Café"): NFD,
// the combining marks taken away, lower case (not the locale's, as the server's).
export const fold = (text) => text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();

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

// Whether a click on the dialog element itself fell on its backdrop.
export function outside(dialog, event) {
  const box = dialog.getBoundingClientRect();
  return event.clientX < box.left || event.clientX > box.right || event.clientY < box.top || event.clientY > box.bottom;
}
