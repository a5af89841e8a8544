/* This page's settings: the options the server validated (#fb-config, fundboard/widgets/
 * theme.py), its words in the viewer's language (fundboard/widgets/words.py, with the URL's
 * label overrides) and the formatters for its locale. Read once, when first imported. */

import { readJSON } from "./dom.js";
import { integerFormat, moneyFormat, percentFormat, safeLocale } from "./format.js";

export const config = readJSON("fb-config") || {};
export const locale = safeLocale(config.locale || "en-US");
export const money = moneyFormat(locale, config.currency_display, config.decimals !== false);
export const integers = integerFormat(locale);
export const percents = percentFormat(locale);

const words = config.words || {};
export function word(key, english) {
  return typeof words[key] === "string" && words[key] ? words[key] : english;
}

const plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(config.language || "en") : null;
export function donationsWord(count) {
  return plurals && plurals.select(count) === "one" ? word("donations_one", "donation") : word("donations_other", "donations");
}

// Hidden and anonymous donors arrive as "Anonymous" (live/snapshot.py): shown translated.
export function displayName(name) {
  return name === "Anonymous" ? word("anonymous", name) : name;
}
