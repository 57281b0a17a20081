// Numbers and plurals in the page's language. Both forms of a counted phrase are
// separate strings ("{count} member", "{count} members"), translated like any
// other; Intl.PluralRules picks the one the language needs for a count.

export class Format {
  constructor(t, locale) {
    this.t = t;
    this.rules = new Intl.PluralRules(locale);
    this.numbers = new Intl.NumberFormat(locale);
    this.locale = locale;
  }

  number(count) {
    return this.numbers.format(count);
  }

  // forms: {one, other}, each a function of the formatted count giving the translated text.
  plural(count, forms) {
    const form = forms[this.rules.select(count)] || forms.other;
    return form(this.number(count));
  }

  members(count) {
    const t = this.t;
    return this.plural(count, {
      one: (n) => t("{count} member", { count: n }),
      other: (n) => t("{count} members", { count: n }),
    });
  }

  online(count) {
    return this.t("{count} online", { count: this.number(count) });
  }

  // A file size the way people read it: "820 KB", "2.4 MB".
  bytes(size) {
    const [unit, value] = size >= 1e6 ? ["megabyte", size / 1e6] : size >= 1e3 ? ["kilobyte", size / 1e3] : ["byte", size];
    return new Intl.NumberFormat(this.locale, { style: "unit", unit, unitDisplay: "short", maximumFractionDigits: 1 })
      .format(value);
  }
}
