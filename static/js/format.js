// Formatted text (issue 17): a message's text made into DOM nodes, for display only (the text
// stored and sent stays what the person typed). A pure module: no state, no imports, nothing
// done on import; renderText() only creates elements, text nodes and the attributes below,
// and never sets innerHTML, so no text can make markup, run script or load anything.
//
//   **bold**                         <strong>
//   *italic*  _italic_               <em>            (nested: *a **b** c*; at most MAX_DEPTH deep)
//   `code`  ``co`de``                <code class="fmt-code">   (a run of N backticks closes with N)
//   ```lang  (own line) … ```        <pre class="fmt-pre" tabindex="0"><code>   (the language word is ignored)
//   "> " at a line's start           <blockquote class="fmt-quote">   (consecutive lines: one)
//   http:// and https:// URLs        <a class="fmt-link" href rel="noopener noreferrer nofollow" target="_blank">
//   @name of a mentioned user        <span class="mention"> (and "mention-me" for the reader)
//
// Nothing inside code is formatted. A marker that does not close stays text. Emphasis follows
// CommonMark's delimiter rules (flanking: "_" never inside a word, so snake_case_name stays text; the rule
// of three), on one line at a time. Links: bare http(s) URLs only, as GitHub finds them
// (trailing . , : ; ! ? * _ ~ ' " and an unbalanced ) or ] are not part of one); any other
// scheme (javascript:, data:, vbscript:, file:, ftp://…) stays text. Mentions: the rule of
// tornado_chat/mentions.py (a whole word, any case, never inside a URL), and only of the
// users in the message's `mentions`.
//
// The work is linear in the text: blocks are found in one pass over the lines (each fence's
// closing line looked up in a table made backwards), code spans by a table of backtick runs
// by length, and emphasis by CommonMark's delimiter stack with its "openers bottom", so that
// no run of asterisks, underscores or backticks makes it go back over what it has read.

export const ELEMENTS = Object.freeze(["a", "blockquote", "code", "em", "pre", "span", "strong"]);
// The attributes each element may have; every other element has none.
export const ATTRIBUTES = Object.freeze({
  a: Object.freeze(["class", "href", "rel", "target"]),
  blockquote: Object.freeze(["class"]),
  code: Object.freeze(["class"]),
  em: Object.freeze([]),
  pre: Object.freeze(["class", "tabindex"]),
  span: Object.freeze(["class"]),
  strong: Object.freeze([]),
});
export const CLASSES = Object.freeze(["fmt-code", "fmt-link", "fmt-pre", "fmt-quote", "mention", "mention-me"]);
export const LINK_REL = "noopener noreferrer nofollow";
export const LINK_TARGET = "_blank";
export const LINK_SCHEMES = Object.freeze(["http:", "https:"]);
export const MAX_DEPTH = 8; // emphasis inside emphasis, at most this deep; deeper markers stay text

const FENCE_OPEN = /^```[A-Za-z0-9_+#.-]{0,32}\s*$/;
const FENCE_CLOSE = /^```\s*$/;
const QUOTE = "> ";

// Anything that reads "scheme://…" (to the next space, as mentions.py skips it): a link when
// the scheme is http or https, else text; and the mentions (mentions.py's MENTION_RE, its
// possessive name written as a look-ahead and a back-reference). \w and \s are Unicode's, as the
// `regex` package's: letters, marks, digits, connectors and joiners; White_Space (not JavaScript's
// \s, which takes U+FEFF and leaves U+0085 out).
const W = String.raw`\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}`;
const ATOMS = new RegExp(
  String.raw`(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*):\/\/\P{White_Space}*` +
    String.raw`|(?<![${W}@])@(?=([A-Za-z0-9_]{3,32}))\2(?![${W}@]|\.[${W}])`,
  "gu",
);
const URL_STOP = /[\p{White_Space}<>"'`]/u; // a link ends before any of these: white space, < > " ' and `
const TRAILING = new Set([".", ",", ":", ";", "!", "?", "*", "_", "~", "'", '"']);
const SPACE = /\s/u;
const PUNCTUATION = /[\p{P}\p{S}]/u;

const EMPHASIS = 1;
const STRONG = 2;

// The text as a DocumentFragment. mentions: the message's mentioned users ({id, username});
// me: the reader's id (or the reader, {id}), whose mentions get "mention-me" too.
export function renderText(text, options = {}) {
  const { mentions = [], me = null } = options || {};
  const doc = globalThis.document;
  const fragment = doc.createDocumentFragment();
  if (typeof text !== "string" || text === "") return fragment;
  const context = { doc, names: mentionNames(mentions, me) };
  const lines = text.split("\n");
  const closer = closingFences(lines);
  // Lines of plain text keep the newlines between them. A block (a quote, a code block) is a
  // line break of its own, so the newline that parts it from its neighbours is not shown, and
  // its margins stand for one blank line on either side: a blank line just before a block does
  // not show (a newline that ends a text never does), and so one just after it is left out too.
  let run = [];
  let afterBlock = false;
  const flush = () => {
    if (afterBlock && run.length > 1 && run[0] === "") run.shift();
    run.forEach((line, i) => {
      if (i) fragment.append("\n");
      inline(context, line, fragment);
    });
    run = [];
    afterBlock = true;
  };
  for (let i = 0; i < lines.length; ) {
    const line = lines[i];
    if (FENCE_OPEN.test(line) && closer[i + 1] !== -1) {
      flush();
      const end = closer[i + 1];
      const pre = element(doc, "pre", "fmt-pre");
      pre.tabIndex = 0; // it may scroll sideways: the keyboard must reach it (axe: scrollable-region-focusable)
      const code = doc.createElement("code");
      code.append(lines.slice(i + 1, end).join("\n"));
      pre.append(code);
      fragment.append(pre);
      i = end + 1;
    } else if (line.startsWith(QUOTE)) {
      flush();
      const quote = element(doc, "blockquote", "fmt-quote");
      for (let first = true; i < lines.length && lines[i].startsWith(QUOTE); i++, first = false) {
        if (!first) quote.append("\n");
        inline(context, lines[i].slice(QUOTE.length), quote);
      }
      fragment.append(quote);
    } else {
      run.push(line);
      i++;
    }
  }
  flush();
  return fragment;
}

// For each line index, the first line at or after it that can close a fence (-1: none).
function closingFences(lines) {
  const closer = new Array(lines.length + 1);
  closer[lines.length] = -1;
  for (let i = lines.length - 1; i >= 0; i--) closer[i] = FENCE_CLOSE.test(lines[i]) ? i : closer[i + 1];
  return closer;
}

function mentionNames(mentions, me) {
  const names = new Map();
  const meId = me !== null && typeof me === "object" ? me.id : me;
  for (const user of Array.isArray(mentions) ? mentions : []) {
    if (!user || typeof user.username !== "string") continue;
    const mine = meId !== null && meId !== undefined && String(user.id) === String(meId);
    names.set(user.username.toLowerCase(), mine);
  }
  return names;
}

function element(doc, tag, className) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  return node;
}

// One line's inline formatting, appended to parent.
function inline(context, line, parent) {
  if (line === "") return;
  const items = tokens(context, line);
  emphasis(items);
  build(context, items, parent);
}

// The line as items: {text} plain text, {node} a code span, link or mention (made whole, never
// formatted inside), {run} a run of * or _ that may open or close emphasis.
function tokens(context, line) {
  const items = [];
  const spans = codeSpans(line);
  let at = 0;
  for (const [start, end, width] of spans) {
    if (start > at) outsideCode(context, line, at, start, items);
    const code = element(context.doc, "code", "fmt-code");
    code.append(line.slice(start + width, end - width));
    items.push({ node: code });
    at = end;
  }
  if (at < line.length) outsideCode(context, line, at, line.length, items);
  return items;
}

// The code spans of a line: [start, end, width] each, a run of `width` backticks to the next run
// of exactly as many. Linear: for each length, the runs of that length in order, and a pointer.
function codeSpans(line) {
  const runs = [];
  for (let i = line.indexOf("`"); i !== -1; ) {
    let j = i;
    while (line[j] === "`") j++;
    runs.push([i, j - i]);
    i = line.indexOf("`", j);
  }
  if (runs.length < 2) return [];
  const byLength = new Map();
  runs.forEach(([, length], index) => {
    if (!byLength.has(length)) byLength.set(length, []);
    byLength.get(length).push(index);
  });
  const cursor = new Map();
  const spans = [];
  for (let r = 0; r < runs.length; ) {
    const [start, width] = runs[r];
    const same = byLength.get(width);
    let k = cursor.get(width) ?? 0;
    while (k < same.length && same[k] <= r) k++;
    cursor.set(width, k);
    if (k < same.length) {
      const close = same[k];
      spans.push([start, runs[close][0] + width, width]);
      r = close + 1;
    } else {
      r++;
    }
  }
  return spans;
}

// Links, mentions and emphasis runs in [from, to) of a line, outside code spans.
function outsideCode(context, line, from, to, items) {
  const part = line.slice(from, to);
  let at = 0;
  for (const match of part.matchAll(ATOMS)) {
    let node = null;
    let end = match.index + match[0].length;
    if (match[1] !== undefined) {
      const url = urlAt(part, match.index, end);
      end = match.index + url.length;
      node = link(context.doc, url, match[1]);
      if (!node) {
        // Another scheme, or not a URL: text, where neither emphasis nor mentions are read.
        text(items, part.slice(at, match.index), line, from + at);
        items.push({ text: url });
        at = end;
        continue;
      }
    } else {
      const name = match[2];
      const mine = context.names.get(name.toLowerCase());
      if (mine === undefined) continue;
      node = element(context.doc, "span", mine ? "mention mention-me" : "mention");
      node.append(match[0]);
    }
    text(items, part.slice(at, match.index), line, from + at);
    items.push({ node });
    at = end;
  }
  text(items, part.slice(at), line, from + at);
}

// The URL that starts at `start`: up to a character URLs do not hold, then without its trailing
// punctuation (GitHub's rule: a closing bracket stays when it closes one opened in the URL).
function urlAt(part, start, end) {
  let stop = start;
  while (stop < end && !URL_STOP.test(part[stop])) stop++;
  const opened = { ")": 0, "]": 0 };
  const closed = { ")": 0, "]": 0 };
  for (let i = start; i < stop; i++) {
    const char = part[i];
    if (char === "(") opened[")"]++;
    else if (char === "[") opened["]"]++;
    else if (char === ")" || char === "]") closed[char]++;
  }
  while (stop > start) {
    const last = part[stop - 1];
    if (TRAILING.has(last)) stop--;
    else if ((last === ")" || last === "]") && opened[last] < closed[last]) {
      closed[last]--;
      stop--;
    } else break;
  }
  return part.slice(start, stop);
}

// An <a> for an http(s) URL that the browser reads as one with a host; else null.
function link(doc, url, scheme) {
  if (!/^https?$/i.test(scheme)) return null;
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (!LINK_SCHEMES.includes(parsed.protocol) || !parsed.hostname) return null;
  const a = element(doc, "a", "fmt-link");
  a.setAttribute("href", url);
  a.setAttribute("rel", LINK_REL);
  a.setAttribute("target", LINK_TARGET);
  a.append(url);
  return a;
}

// Plain text with its runs of * and _ as items of their own, each knowing (from the characters
// around it in the line) whether it may open or close emphasis.
function text(items, part, line, offset) {
  let at = 0;
  for (let i = 0; i < part.length; ) {
    const char = part[i];
    if (char !== "*" && char !== "_") {
      i++;
      continue;
    }
    let j = i;
    while (part[j] === char) j++;
    if (i > at) items.push({ text: part.slice(at, i) });
    items.push(delimiter(char, j - i, line, offset + i, offset + j));
    at = i = j;
  }
  if (at < part.length) items.push({ text: part.slice(at) });
}

// CommonMark's left- and right-flanking rules; "_" does not open or close inside a word.
function delimiter(char, length, line, start, end) {
  const before = charBefore(line, start);
  const after = charAt(line, end);
  const spaceBefore = before === "" || SPACE.test(before);
  const spaceAfter = after === "" || SPACE.test(after);
  const punctBefore = before !== "" && PUNCTUATION.test(before);
  const punctAfter = after !== "" && PUNCTUATION.test(after);
  const left = !spaceAfter && (!punctAfter || spaceBefore || punctBefore);
  const right = !spaceBefore && (!punctBefore || spaceAfter || punctAfter);
  const canOpen = char === "*" ? left : left && (!right || punctBefore);
  const canClose = char === "*" ? right : right && (!left || punctAfter);
  return { run: char, length, left: length, canOpen, canClose, opens: [], closes: [], active: true };
}

// The whole code point before `index` / at `index` (a surrogate pair is one character).
function charBefore(line, index) {
  if (index <= 0) return "";
  const code = line.charCodeAt(index - 1);
  if (code >= 0xdc00 && code <= 0xdfff && index >= 2) return line.slice(index - 2, index);
  return line[index - 1];
}

function charAt(line, index) {
  if (index >= line.length) return "";
  return String.fromCodePoint(line.codePointAt(index));
}

// CommonMark's "process emphasis": closers, left to right, find the nearest opener of their
// kind on the stack; what lies between a matched pair leaves the stack; a closer that finds
// none sets the floor below which later closers of its kind do not look (openers bottom).
function emphasis(items) {
  const stack = []; // indexes into items of delimiter runs still able to match, in order
  const bottom = new Map(); // `${char}${canOpen}${length % 3}` -> the first item index to look at
  for (let index = 0; index < items.length; index++) {
    const closer = items[index];
    if (!closer.run) continue;
    if (closer.canClose) {
      const key = `${closer.run}${closer.canOpen}${closer.length % 3}`;
      while (closer.left > 0) {
        const floor = bottom.get(key) ?? 0;
        let found = -1;
        for (let s = stack.length - 1; s >= 0 && stack[s] >= floor; s--) {
          const opener = items[stack[s]];
          if (opener.run !== closer.run || !opener.canOpen || opener.left === 0) continue;
          const odd = (opener.canClose || closer.canOpen) && (opener.length + closer.length) % 3 === 0 &&
            !(opener.length % 3 === 0 && closer.length % 3 === 0);
          if (odd) continue;
          found = s;
          break;
        }
        if (found === -1) {
          bottom.set(key, index); // no opener before this closer suits its kind: later ones look no further
          break;
        }
        const opener = items[stack[found]];
        const used = opener.left >= 2 && closer.left >= 2 ? STRONG : EMPHASIS;
        const pair = { kind: used, char: closer.run };
        opener.left -= used;
        closer.left -= used;
        opener.opens.push(pair);
        closer.closes.push(pair);
        stack.length = opener.left > 0 ? found + 1 : found; // the runs between are text now
      }
    }
    if (closer.left > 0 && closer.canOpen) stack.push(index);
  }
}

// The items as nodes: emphasis elements opened and closed where their runs matched, the rest
// of each run as text. Pairs nest (CommonMark's algorithm guarantees it); past MAX_DEPTH a
// pair's markers stay text.
function build(context, items, parent) {
  const open = [parent]; // the elements open, innermost last
  const shown = new Set(); // pairs made elements (the others are text)
  const appendText = (value) => value && open[open.length - 1].append(value);
  for (const item of items) {
    if (item.node) open[open.length - 1].append(item.node);
    else if (item.text !== undefined) appendText(item.text);
    else {
      // A closer uses its run's first characters, an opener its last ones; the first pair an
      // opener made is the innermost.
      for (const pair of item.closes) {
        if (shown.has(pair) && open[open.length - 1] === pair.element) open.pop();
        else appendText(pair.char.repeat(pair.kind));
      }
      appendText(item.run.repeat(item.left));
      for (const pair of [...item.opens].reverse()) {
        if (open.length - 1 >= MAX_DEPTH) {
          appendText(pair.char.repeat(pair.kind));
          continue;
        }
        pair.element = context.doc.createElement(pair.kind === STRONG ? "strong" : "em");
        open[open.length - 1].append(pair.element);
        open.push(pair.element);
        shown.add(pair);
      }
    }
  }
}
