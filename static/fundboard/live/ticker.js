/* The ticker: recent donations scrolling in a seamless loop. */

import { byId, el } from "./dom.js";
import { reducedMotion } from "./motion.js";
import { config, displayName, money, word } from "./page.js";

export function Ticker() {
  const track = byId("track"), rows = config.rows || 10, speed = config.speed || 60;
  let shownKey = null, animation = null, campaignCurrency = "";

  // Converted into the campaign's currency at ingest: "≈ $54.20", the original on hover.
  function amountOf(item) {
    if (!item.converted_amount) return el("span", "fb-amount", money.text(item.amount, item.currency));
    const node = el("span", "fb-amount is-approximate", "≈ " + money.text(item.converted_amount, campaignCurrency));
    node.title = money.text(item.amount, item.currency);
    return node;
  }

  function tick(item) {
    const node = el("span", "fb-tick");
    node.appendChild(el("bdi", "fb-name", displayName(item.name)));
    node.appendChild(document.createTextNode(" "));
    node.appendChild(amountOf(item));
    if (config.messages !== false && item.message) {
      node.appendChild(document.createTextNode(" "));
      const message = el("q", "fb-message", item.message);
      message.dir = "auto";
      node.appendChild(message);
    }
    return node;
  }

  function group(items, hidden) {
    const node = el("span", "fb-ticker-track");
    node.style.padding = "0";
    if (hidden) node.setAttribute("aria-hidden", "true");
    items.forEach((item) => node.appendChild(tick(item)));
    if (!items.length) node.appendChild(el("span", "fb-tick fb-empty", word("donations_appear", "Donations will appear here")));
    return node;
  }

  function render(snapshot) {
    const items = (snapshot.recent || []).slice(0, rows);
    campaignCurrency = snapshot.currency;
    const key = items.map((i) => i.id + ":" + i.name + ":" + i.amount + ":" + (i.converted_amount || "") + ":" + (i.message || "")).join("|");
    if (key === shownKey) return;
    shownKey = key;
    const phase = animation && animation.effect ? (animation.currentTime || 0) / animation.effect.getTiming().duration : 0;
    if (animation) animation.cancel();
    track.textContent = "";
    track.appendChild(group(items, false));
    if (reducedMotion() || !items.length || !track.animate) return;
    // Two copies scroll by one copy's width, so the loop has no seam.
    track.appendChild(group(items, true));
    const gap = parseFloat(getComputedStyle(track).columnGap) || 0;
    const distance = track.firstChild.getBoundingClientRect().width + gap;
    const duration = Math.max(4000, distance / speed * 1000);
    animation = track.animate([{ transform: "translateX(0)" }, { transform: "translateX(" + -distance + "px)" }],
      { duration, iterations: Infinity });
    animation.currentTime = (phase % 1) * duration;
  }
  return { render };
}
