// A person's initials avatar and colour: the same user id gives the same one
// of PALETTE_SIZE colours everywhere and on every visit (conversation.css
// holds the colours, each readable in the light and the dark theme).

import { el } from "./dom.js";

export const PALETTE_SIZE = 8;

// A multiplicative hash of the id, so that neighbouring ids get different colours.
export function colourOf(userId) {
  return (Math.imul(Number(userId) | 0, 2654435761) >>> 0) % PALETTE_SIZE;
}

// "ana" -> "A", "ana_silva" and "AnaSilva" -> "AS", "42" -> "4".
export function initials(username) {
  const parts = username.split(/_+|(?<=[a-z])(?=[A-Z])/).filter((part) => /^[A-Za-z]/.test(part));
  const letters = parts.length >= 2 ? parts[0][0] + parts[1][0] : (parts[0] || username)[0] || "?";
  return letters.toUpperCase();
}

// Decorative: the name is written beside it, so screen readers skip it.
export function avatar(user) {
  const node = el("span", `avatar c${colourOf(user.id)}`, initials(user.username));
  node.setAttribute("aria-hidden", "true");
  return node;
}
