// The words of a search found in a text, as the server finds them (issue 17):
// words are runs of letters, digits and "_", matched whole, in any case and with
// any accents ("cafe" finds "Café"): both sides are compared folded (NFD, the
// combining marks taken away, lower case). The text becomes text nodes and <mark>
// elements, never HTML.

import { el, fold } from "./dom.js";

const WORD = /[\p{L}\p{N}_]+/gu;
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const EXCERPT_CHARS = 280; // a long text shows this much, around its first match
const LEAD_CHARS = 60; // ... starting this far before the match

// The words of a query, folded, longest first, without repeats.
export function searchWords(query) {
  const words = new Set([...(query.match(WORD) || [])].map((word) => [...word].map(fold).join("")).filter(Boolean));
  return [...words].sort((a, b) => b.length - a.length);
}

export function hasWord(query) {
  return WORD_CHAR.test(query);
}

// Where the words occur in `text`, whole: [[start, end], ...] in UTF-16 indexes of the
// text, in order, overlaps merged.
export function matches(text, words) {
  if (!words.length) return [];
  // The folded text, and for each of its UTF-16 units the original character's start and end.
  let folded = "";
  const starts = [];
  const ends = [];
  let index = 0;
  for (const char of text) {
    const part = fold(char);
    for (let i = 0; i < part.length; i += 1) {
      starts.push(index);
      ends.push(index + char.length);
    }
    folded += part;
    index += char.length;
  }
  const found = [];
  for (const word of words) {
    let at = folded.indexOf(word);
    while (at !== -1) {
      const end = at + word.length;
      const before = at > 0 ? folded[at - 1] : "";
      const after = folded[end] ?? "";
      if (!(before && WORD_CHAR.test(before)) && !(after && WORD_CHAR.test(after))) found.push([starts[at], ends[end - 1]]);
      at = folded.indexOf(word, at + 1);
    }
  }
  found.sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const range of found) {
    const last = merged.at(-1);
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([...range]);
  }
  return merged;
}

// The text (or, when long, an excerpt around its first match, with "…" where it is cut)
// as a fragment of text nodes and <mark> elements.
export function highlighted(text, words) {
  let ranges = matches(text, words);
  let shown = text;
  let lead = "";
  let tail = "";
  if (text.length > EXCERPT_CHARS) {
    let from = Math.max(0, (ranges[0]?.[0] ?? 0) - LEAD_CHARS);
    if (from > 0) {
      const space = text.indexOf(" ", from);
      if (space !== -1 && space < (ranges[0]?.[0] ?? 0)) from = space + 1;
      lead = "…";
    }
    if (/[\uDC00-\uDFFF]/.test(text[from] ?? "")) from += 1; // never half a character
    let to = Math.min(text.length, from + EXCERPT_CHARS);
    if (/[\uDC00-\uDFFF]/.test(text[to] ?? "")) to += 1;
    if (to < text.length) tail = "…";
    shown = text.slice(from, to);
    ranges = ranges.filter(([, end]) => end > from && end <= to).map(([start, end]) => [Math.max(start, from) - from, end - from]);
  }
  const fragment = document.createDocumentFragment();
  let last = 0;
  fragment.append(lead);
  for (const [start, end] of ranges) {
    fragment.append(shown.slice(last, start));
    fragment.append(el("mark", "", shown.slice(start, end)));
    last = end;
  }
  fragment.append(shown.slice(last), tail);
  return fragment;
}
