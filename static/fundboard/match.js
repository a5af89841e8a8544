/* Fundboard sponsor matches: the "×2 until 9 pm · $3,210 of $10,000 matched left" line.
 *
 * matchFollower(node, moneyText, locale, words) returns draw(snapshot): it shows the first
 * active match of the snapshot's `matches[]` (precedence order) in `node` and hides it when
 * none is; the time is checked again every 15 s, so a window that ends with no donation
 * still disappears. The thermometer draws with it (live/thermometer.js), and so does the
 * match widget (/c/<slug>/match, MatchWidget below, started by live.js).
 * Only textContent is written: a sponsor's name is text, never HTML.
 */

import { byId } from "./live/dom.js";
import { fill, toNumber } from "./live/format.js";
import { config, locale, money } from "./live/page.js";

const LINE = "{sponsor}: {ratio} until {time} · {remaining} of {cap} matched left";

function isActive(match, now) {
  return Date.parse(match.starts_at) <= now && now < Date.parse(match.ends_at) && toNumber(match.remaining) > 0;
}

export function activeMatch(snapshot, now) {
  return (snapshot.matches || []).find((m) => isActive(m, now)) || null;
}

// ratio 1: the sponsor doubles each donation, "×2"; 0.5: "×1.5".
function times(ratio) { return "×" + Math.round((1 + toNumber(ratio)) * 100) / 100; }

function clock(iso, locale) {
  const moment = new Date(iso);
  const options = moment.getMinutes() ? { hour: "numeric", minute: "2-digit" } : { hour: "numeric" };
  try { return new Intl.DateTimeFormat(locale, options).format(moment); } catch (e) { return moment.toLocaleTimeString(); }
}

export function matchLine(match, currency, moneyText, locale, template) {
  return fill(template || LINE, {
    sponsor: match.sponsor, ratio: times(match.ratio), time: clock(match.ends_at, locale),
    remaining: moneyText(match.remaining, currency), cap: moneyText(match.cap, currency),
  });
}

export function matchFollower(node, moneyText, locale, words) {
  let last = null;
  const template = words && typeof words.match_line === "string" ? words.match_line : LINE;
  function draw(snapshot) {
    if (snapshot) last = snapshot;
    if (!last || !node) return;
    const match = activeMatch(last, Date.now());
    node.hidden = !match;
    node.textContent = match ? matchLine(match, last.currency, moneyText, locale, template) : "";
  }
  setInterval(() => draw(null), 15000);
  return draw;
}

// The match widget page: the line, or "No sponsor match right now" when none is active.
export function MatchWidget() {
  const node = byId("fb-match-line"), empty = byId("fb-match-none");
  const draw = matchFollower(node, money.text, locale, config.words);
  const showEmpty = () => { if (empty) empty.hidden = !node.hidden; };
  setInterval(showEmpty, 15000);
  return { render(snapshot) { draw(snapshot); showEmpty(); } };
}
