"""What a screen reader would be told: the changes to a page's live regions, recorded in the page.

Install the recorder on a browser context before its pages load, act, then read what was
announced::

    await record_announcements(context)        # before the page's own script runs
    page = await context.new_page(); ...
    await forget_announcements(page)           # e.g. once the page has settled
    ...                                        # scroll up, receive a message...
    assert await announced_texts(page) == ["ana: hello"]

The recorder is a MutationObserver on the whole document, put there by
``context.add_init_script`` (which runs before any script of the page, and which the page's CSP
does not govern). It follows the live-region rules of WAI-ARIA 1.2 as a browser and a screen
reader apply them:

- A live region is an element with ``aria-live="polite"`` or ``"assertive"``, or with role
  ``log`` or ``status`` (polite) or ``alert`` (assertive), or an ``<output>`` (status). The
  nearest such element, or ``aria-live`` attribute, of a changed node decides: an explicit
  ``aria-live`` beats the role's, and ``aria-live="off"`` silences everything under it (until a
  descendant declares a region of its own).
- ``aria-relevant`` (the nearest within the region; default ``"additions text"``, ``"all"`` is
  all three) says which changes count: nodes added (or shown), text changed, nodes removed.
- What is said is the text a person would hear: of the node added or shown (an ``<img>`` says
  its alt text), not of what is not rendered (``hidden``, ``display: none``, ``visibility:
  hidden``) or is ``aria-hidden="true"``; whitespace collapsed; nothing is said for a change with
  no text. With ``aria-atomic="true"`` on the nearest element that sets it (implicitly on a
  ``status`` or ``alert``) the whole of that element is said instead of the change, once per batch.
- A node inside a region that goes from not rendered to rendered (a ``hidden`` attribute taken
  off, a class that stops hiding it) counts as added.
- A live region that is itself added to the page, or shown, with its content is not announced,
  except an ``alert``: screen readers only follow regions that were already there, but speak an
  alert when it appears.
- Changes under ``aria-busy="true"`` are held, and said when it is cleared.
- Nothing is announced while the parser builds the page: what the HTML had is not news. What a
  script (the page's modules included) changes from then on is.
- The attributes are read when the observer's callback runs, after the script that made the
  change has finished its turn, which is when a browser brings its accessibility tree up to
  date: switching ``aria-live`` off and on again in one go hides nothing.

Each announcement is a dict: ``text``, ``politeness`` (``"polite"``/``"assertive"``), ``region``
(its ``aria-label``, ``id`` or role) and ``kind`` (``"additions"``, ``"text"`` or ``"removals"``).
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import BrowserContext, Page

RECORDER = r"""(() => {
    if (Object.prototype.hasOwnProperty.call(window, "__liveAnnouncements")) return;
    const ROLES = new Map([["log", ["polite", false]], ["status", ["polite", true]], ["alert", ["assertive", true]]]);
    const SELECTOR = '[aria-live], [role], output';
    const state = { log: [], held: [], shown: new WeakMap() };

    const roleOf = (el) => {
        const token = (el.getAttribute("role") || "").trim().toLowerCase().split(/\s+/)[0];
        return token || (el.localName === "output" ? "status" : "");
    };
    const elementOf = (node) => (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement);
    const upTo = function* (node, root) {
        for (let el = elementOf(node); el; el = el.parentElement) {
            yield el;
            if (el === root) return;
        }
    };

    // The region that governs node, or null when it is in none (or in one switched off).
    function regionOf(node) {
        for (let el = elementOf(node); el; el = el.parentElement) {
            const live = (el.getAttribute("aria-live") || "").trim().toLowerCase();
            if (live === "off") return null;
            const role = roleOf(el);
            if (live === "polite" || live === "assertive") return { root: el, politeness: live, role };
            if (ROLES.has(role)) return { root: el, politeness: ROLES.get(role)[0], role };
        }
        return null;
    }

    function relevant(node, region) {
        for (const el of upTo(node, region.root)) {
            const value = el.getAttribute("aria-relevant");
            if (value !== null) {
                const tokens = new Set(value.trim().toLowerCase().split(/\s+/));
                return tokens.has("all") ? new Set(["additions", "removals", "text"]) : tokens;
            }
        }
        return new Set(["additions", "text"]);
    }

    function atomicElement(node, region) {
        for (const el of upTo(node, region.root)) {
            const value = (el.getAttribute("aria-atomic") || "").trim().toLowerCase();
            if (value === "true") return el;
            if (value === "false") return null;
        }
        return ROLES.has(region.role) && ROLES.get(region.role)[1] ? region.root : null;
    }

    const busy = (node, region) => [...upTo(node, region.root)].some((el) => el.getAttribute("aria-busy") === "true");

    function rendered(el) {
        return !!el && el.isConnected && !el.closest('[aria-hidden="true"]')
            && el.checkVisibility({ visibilityProperty: true });
    }

    // The text a screen reader reads for a rendered element: its rendered descendants' text.
    function textOf(el) {
        if (el.localName === "img") return el.getAttribute("alt") || "";
        if (["script", "style", "template", "noscript"].includes(el.localName)) return "";
        if (el.localName === "br") return " ";
        let text = "";
        for (const child of el.childNodes) {
            if (child.nodeType === Node.TEXT_NODE) text += child.data;
            else if (child.nodeType === Node.ELEMENT_NODE && child.getAttribute("aria-hidden") !== "true"
                     && child.checkVisibility({ visibilityProperty: true })) {
                const inline = getComputedStyle(child).display.startsWith("inline");
                text += inline ? textOf(child) : ` ${textOf(child)} `;
            }
        }
        return text;
    }
    const spoken = (node) => {
        const el = elementOf(node);
        if (!rendered(el)) return "";
        return node.nodeType === Node.TEXT_NODE ? node.data : textOf(node);
    };
    const clean = (text) => text.replace(/\s+/g, " ").trim();
    const nameOf = (root) => root.getAttribute("aria-label") || root.id || roleOf(root) || root.localName;

    function regionRoots() {
        return [...document.querySelectorAll(SELECTOR)].filter((el) => regionOf(el)?.root === el);
    }
    // Every element in a region, each once.
    function regionElements() {
        const seen = new Set();
        for (const root of regionRoots()) {
            if (seen.has(root)) continue;
            seen.add(root);
            for (const el of root.querySelectorAll("*")) seen.add(el);
        }
        return seen;
    }
    function remember(elements) {
        for (const el of elements) state.shown.set(el, rendered(el));
    }

    function say(change, done) {
        const { node, kind } = change;
        if (kind !== "removals" && !node.isConnected) return;
        const region = regionOf(kind === "removals" ? change.parent : node);
        if (!region || !relevant(kind === "removals" ? change.parent : node, region).has(kind)) return;
        if (kind === "additions" && region.root === node && region.role !== "alert") return;  // a new region
        if (busy(kind === "removals" ? change.parent : node, region)) {
            state.held.push(change);
            return;
        }
        const atomic = kind === "removals" ? atomicElement(change.parent, region) : atomicElement(node, region);
        let text;
        if (atomic) {
            if (done.has(atomic)) return;
            done.add(atomic);
            text = rendered(atomic) ? textOf(atomic) : "";
        } else {
            text = kind === "removals" ? change.text : spoken(node);
        }
        text = clean(text);
        if (text) state.log.push({ text, politeness: region.politeness, region: nameOf(region.root), kind });
    }

    function handle(records) {
        const elements = regionElements();
        if (document.readyState === "loading") {  // the parser is building the page
            remember(elements);
            return;
        }
        const changes = [];
        const added = new Set();
        for (const record of records) {
            if (record.type === "childList") {
                for (const node of record.addedNodes) {
                    changes.push({ node, kind: "additions" });
                    added.add(node);
                }
                for (const node of record.removedNodes) {
                    changes.push({ node, kind: "removals", parent: record.target, text: node.textContent || "" });
                }
            } else if (record.type === "characterData") {
                changes.push({ node: record.target, kind: "text" });
            }
        }
        for (const el of elements) {  // shown since the last look, the outermost only
            const parent = el.parentElement;
            const parentShown = parent && state.shown.get(parent) === false && rendered(parent);
            if (state.shown.get(el) === false && rendered(el) && !parentShown) {
                changes.push({ node: el, kind: "additions" });
            }
        }
        const within = (node) => {
            for (let up = node.parentNode; up; up = up.parentNode) if (added.has(up)) return true;
            return false;
        };
        const done = new Set();
        const held = state.held.splice(0);
        for (const change of held) say(change, done);
        for (const change of changes) {
            if (change.kind === "additions" && within(change.node)) continue;  // said with its ancestor
            say(change, done);
        }
        remember(regionElements());
    }

    const observer = new MutationObserver(handle);
    observer.observe(document, {
        childList: true, subtree: true, characterData: true, attributes: true,
        attributeFilter: ["hidden", "style", "class", "aria-hidden", "aria-busy", "aria-live", "role", "open"],
    });
    document.addEventListener("readystatechange", () => {
        if (document.readyState === "interactive") {  // the page as parsed: none of it is news
            observer.takeRecords();
            remember(regionElements());
        }
    });
    Object.defineProperty(window, "__liveAnnouncements", {
        value: {
            read() {
                handle(observer.takeRecords());
                return state.log.slice();
            },
            forget() {
                handle(observer.takeRecords());
                state.log.length = 0;
            },
        },
    });
})();"""


async def record_announcements(context: BrowserContext) -> None:
    """Record, in every page ``context`` opens from now on, what a screen reader would be told."""
    await context.add_init_script(script=RECORDER)


async def announcements(page: Page) -> list[dict[str, Any]]:
    """Everything announced in ``page`` so far (since the last ``forget_announcements``), in order."""
    return await page.evaluate("window.__liveAnnouncements.read()")


async def announced_texts(page: Page) -> list[str]:
    """The texts of ``announcements(page)``."""
    return [a["text"] for a in await announcements(page)]


async def forget_announcements(page: Page) -> None:
    """Start afresh: what was announced up to now is not reported again."""
    await page.evaluate("window.__liveAnnouncements.forget()")
