/* Numbers and money as the viewer's locale writes them: the one place widgets format a
 * number (server pages send numbers as data, never as text). Pure functions of their
 * arguments, so tests/browser/test_widgets_modules.py checks them directly. */

export function toNumber(value) {
  const n = parseFloat(value);
  return isFinite(n) ? n : 0;
}

// A locale tag Intl accepts, or en-US (theme.py lets through any well-formed tag).
export function safeLocale(locale) {
  try { new Intl.NumberFormat(locale); return locale; } catch (e) { return "en-US"; }
}

const NUMBER_PARTS = { integer: 1, group: 1, decimal: 1, fraction: 1, minusSign: 1 };

// Money in one locale: text(value, currency) -> "$1,234.50" (value a number or a decimal
// string, as the snapshot sends it: Intl formats the string exactly); parts() splits prefix, number
// and suffix; short() drops cents that add nothing ("$1,000", for milestone labels).
export function moneyFormat(locale, display, decimals) {
  const cache = {};
  const wholes = {};
  const base = (currency) => ({ style: "currency", currency: currency || "XXX", currencyDisplay: display || "symbol" });

  function formatter(currency) {
    const key = currency || "XXX";
    if (!cache[key]) {
      const options = base(currency);
      if (!decimals) { options.minimumFractionDigits = 0; options.maximumFractionDigits = 0; }
      try {
        cache[key] = new Intl.NumberFormat(locale, options);
      } catch (e) {
        try { cache[key] = new Intl.NumberFormat("en-US", options); } catch (e2) {
          cache[key] = new Intl.NumberFormat("en-US", { minimumFractionDigits: decimals ? 2 : 0 });
        }
      }
    }
    return cache[key];
  }

  // Splits "$1,234.50" / "1.234,50 €" into prefix, number and suffix, so the number alone
  // can count up while the currency sign stays put wherever the locale places it.
  function parts(value, currency) {
    const all = formatter(currency).formatToParts(value);
    let first = -1, last = -1;
    all.forEach((part, i) => { if (NUMBER_PARTS[part.type]) { if (first < 0) first = i; last = i; } });
    const join = (list) => list.map((p) => p.value).join("");
    return { prefix: join(all.slice(0, first)), number: join(all.slice(first, last + 1)), suffix: join(all.slice(last + 1)) };
  }

  function text(value, currency) { return formatter(currency).format(value); }

  function short(value, currency) {
    if (toNumber(value) % 1 !== 0) return text(value, currency);
    const key = currency || "XXX";
    if (!wholes[key]) {
      try {
        wholes[key] = new Intl.NumberFormat(locale, { ...base(currency), minimumFractionDigits: 0, maximumFractionDigits: 0 });
      } catch (e) { wholes[key] = formatter(currency); }
    }
    return wholes[key].format(value);
  }

  return { parts, text, short };
}

export function integerFormat(locale) {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
}

export function percentFormat(locale) {
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
}

// "{count} donations" with its parts filled in; an unknown {name} stays as written.
export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));
}
