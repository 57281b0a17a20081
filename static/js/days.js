// Dates and times as the page's language writes them: "6:03 PM" in English,
// "18:03" in Brazilian Portuguese, day separators that say "Today",
// "Yesterday" or the date, and the full date and time for a tooltip. Days are
// the reader's local calendar days.

const DAY_MS = 24 * 60 * 60 * 1000;

// The local calendar day of a moment, as a key that sorts: "2025-06-12".
export function dayKey(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export class Days {
  constructor(locale, t) {
    this.t = t;
    // Two-digit hours where the clock has 24 of them ("00:07"), not on a 12-hour one ("6:03 PM").
    const cycle = new Intl.DateTimeFormat(locale, { hour: "numeric" }).resolvedOptions().hourCycle;
    const hour = cycle === "h23" || cycle === "h24" ? "2-digit" : "numeric";
    this.time = new Intl.DateTimeFormat(locale, { hour, minute: "2-digit" });
    this.full = new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short" });
    this.thisYear = new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long" });
    this.otherYear = new Intl.DateTimeFormat(locale, { day: "numeric", month: "long", year: "numeric" });
  }

  // "6:03 PM" / "18:03"
  clock(date) {
    return this.time.format(date);
  }

  // "Thursday, June 12, 2025 at 6:03 PM" / "quinta-feira, 12 de junho de 2025 às 18:03"
  exact(date) {
    return this.full.format(date);
  }

  // What a day separator says, as seen from now.
  label(date, now = new Date()) {
    const key = dayKey(date);
    if (key === dayKey(now)) return this.t("Today");
    // Noon yesterday is yesterday whatever the clock change of the night.
    const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate(), 12) - DAY_MS;
    if (key === dayKey(new Date(yesterday))) return this.t("Yesterday");
    return (date.getFullYear() === now.getFullYear() ? this.thisYear : this.otherYear).format(date);
  }
}
