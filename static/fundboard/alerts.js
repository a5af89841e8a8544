/* Fundboard alerts: the alert overlay's queue, kept within a bounded lag by design.
 *
 * An ES module: live.js calls createAlerts(firstSnapshot) for the alerts page and feeds it
 * `donation`, `donation_removed`, `snapshot` and `alert_control` messages.
 *
 * Keeping up: no donation waits more than `max_lag` seconds (default 15) to reach the
 * screen. While donations wait, each card's time on screen shortens (down to a floor of
 * 1.5 s); when even floor-length cards would leave one waiting past the bound, everything
 * waiting is shown as one group card ("12 donations, $184 in the last 20 s"). Donations at
 * or above a tier (`tiers=100:gold:coin,500:red:chime:10`) are always shown alone and jump
 * the queue: the card on screen is cut short (to the floor) for them.
 *
 * Staff control it live from the dashboard (`alert_control` messages): skip the current
 * card, pause / resume, clear the queue, replay a donation. Test donations are marked,
 * shown in the campaign's currency and never filtered by `min`.
 *
 * For tests and operators, window.fundboardAlerts holds counters: the ids shown alone,
 * the ids shown in a group, the ids cleared, and the largest lag seen (ms).
 */

import { el } from "./live/dom.js";
import { fill, toNumber } from "./live/format.js";
import { reducedMotion } from "./live/motion.js";
import { config, integers, money } from "./live/page.js";

// Every word the alerts show, in one place. The page's config.words (the widget's words
// in the viewer's language, fundboard/widgets/words.py) overrides them key by key.
var WORDS = {
  donated: "donated",
  donated_no_amount: "donated!",
  test: "TEST",
  alert_replay: "REPLAY",
  // {count}, {amount} and {seconds} are filled in by the script.
  alert_group: "{count} donations, {amount} in the last {seconds} s",
  // {incentive} is the incentive's title (and the bid war option's): fundboard/incentives.
  alert_incentive: "for {incentive}",
};

// Tier sounds by name (`tiers=500:red:chime`): their static URLs are on the stage
// (#alerts, templates/widgets/alerts.html).
function soundUrls(stage) {
  return {
    chime: stage ? stage.getAttribute("data-sound-chime") : "",
    coin: stage ? stage.getAttribute("data-sound-coin") : "",
  };
}

var LEAVE_MS = 350; // the leaving animation (widgets.css, fb-alert-out)
var FLOOR_MS = 1500; // the shortest time a card stays on screen under load

export function createAlerts(initial) {
  var doc = document;
  var words = {};
  Object.keys(WORDS).forEach(function (key) { words[key] = WORDS[key]; });
  var given = config.words;
  if (given && typeof given === "object") {
    Object.keys(WORDS).forEach(function (key) { if (typeof given[key] === "string") words[key] = given[key]; });
  }

  var stage = doc.getElementById("alerts");
  var SOUND_URLS = soundUrls(stage);
  var minimum = toNumber(config.min_amount);
  var baseMs = (config.duration || 6) * 1000;
  var floorMs = Math.min(FLOOR_MS, baseMs);
  var maxLagMs = (config.max_lag || 15) * 1000;
  var tiers = (config.tiers || []).slice().sort(function (a, b) { return toNumber(b.amount) - toNumber(a.amount); });
  var campaignCurrency = initial.currency;

  var queue = []; // {donation, arrived, tier, replay, duringPause}; tier items first
  var current = null; // {card, item, start, end, timer}
  var paused = false, seen = {}, lastId = 0;
  var stats = {
    received: 0, shown: [], grouped: [], cleared: [], skipped: 0,
    maxLag: 0, lagBound: maxLagMs, paused: false,
    queued: function () { return queue.length; },
  };
  window.fundboardAlerts = stats;

  (initial.recent || []).forEach(function (d) { seen[d.id] = true; lastId = Math.max(lastId, d.id); });

  /* --- sounds --- */

  var audio = {};
  function soundUrl(name) {
    if (name === undefined || name === null) return config.sound_url || "";
    if (name === "none") return "";
    return SOUND_URLS[name] || "";
  }
  function play(name) {
    var url = soundUrl(name);
    if (!url || !(config.volume > 0)) return;
    var sound = audio[url];
    if (!sound) {
      sound = audio[url] = new Audio(url);
      sound.preload = "auto";
      sound.volume = Math.min(1, config.volume / 100);
    }
    try { sound.currentTime = 0; var played = sound.play(); if (played && played.catch) played.catch(function () {}); } catch (e) { /* autoplay refused */ }
  }

  /* --- what a card says --- */

  // Test donations are stored in the test currency (XTS); viewers see the campaign's.
  function currencyOf(donation) { return donation.test ? campaignCurrency : donation.currency; }

  // What a donation counts for in the campaign's currency (converted at ingest, issue 15):
  // tiers and `min` compare that, so 2000 MXN is not taken for more than 1000 EUR.
  function counted(donation) { return donation.converted_amount || donation.amount; }

  function tierFor(donation) {
    if (donation.test) return null;
    var amount = toNumber(counted(donation));
    for (var i = 0; i < tiers.length; i++) if (amount >= toNumber(tiers[i].amount)) return tiers[i];
    return null;
  }

  function buildSingle(item) {
    var donation = item.donation;
    var card = el("div", "fb-alert" + (donation.test ? " is-test" : "") + (item.tier ? " is-tier" : "") + (item.replay ? " is-replay" : ""));
    card.setAttribute("data-id", donation.id);
    if (donation.test) card.appendChild(el("div", "fb-alert-badge", words.test));
    else if (item.replay) card.appendChild(el("div", "fb-alert-badge", words.alert_replay));
    var headline = el("div", "fb-alert-headline");
    headline.appendChild(el("bdi", "fb-name", donation.name));
    if (config.amounts !== false) {
      headline.appendChild(el("span", "fb-verb", words.donated));
      var shown = money.text(donation.amount, currencyOf(donation));
      // "€50.00 ≈ $54.20": the original, then what it counts for in the campaign's currency.
      if (donation.converted_amount) shown += " ≈ " + money.text(donation.converted_amount, campaignCurrency);
      var amount = el("span", "fb-amount", shown);
      if (item.tier && item.tier.colour) amount.style.color = item.tier.colour;
      headline.appendChild(amount);
    } else {
      headline.appendChild(el("span", "fb-verb", words.donated_no_amount));
    }
    card.appendChild(headline);
    var incentive = incentiveLine(donation);
    if (incentive) card.appendChild(incentive);
    // A ring in the tier's colour (set through the CSSOM: widget pages allow no inline CSS).
    if (item.tier && item.tier.colour) card.style.boxShadow = "0 0 0 3px " + item.tier.colour + ", 0 6px 24px rgba(0, 0, 0, 0.18)";
    if (config.messages !== false && donation.message) {
      var message = el("p", "fb-alert-message", donation.message);
      message.dir = "auto";
      card.appendChild(message);
    }
    return card;
  }

  // The incentive a donation went to (the `donation` event's `incentive`), under its name.
  function incentiveLine(donation) {
    var incentive = donation.incentive;
    if (!incentive || typeof incentive.title !== "string") return null;
    var name = incentive.option ? incentive.title + ": " + incentive.option : incentive.title;
    var line = el("p", "fb-alert-incentive", words.alert_incentive.replace("{incentive}", name));
    line.dir = "auto";
    return line;
  }

  function groupAmount(items) {
    var sums = {}, order = [];
    items.forEach(function (item) {
      var currency = currencyOf(item.donation);
      if (!(currency in sums)) { sums[currency] = 0; order.push(currency); }
      sums[currency] += toNumber(item.donation.amount);
    });
    return order.map(function (currency) { return money.text(sums[currency], currency); }).join(" + ");
  }

  function buildGroup(items) {
    var card = el("div", "fb-alert is-group");
    var seconds = Math.max(1, Math.ceil((Date.now() - items[0].arrived) / 1000));
    var text = fill(words.alert_group, {
      count: integers.format(items.length),
      amount: config.amounts !== false ? groupAmount(items) : "",
      seconds: integers.format(seconds),
    });
    card.appendChild(el("div", "fb-alert-headline", text));
    card.setAttribute("data-count", String(items.length));
    return card;
  }

  /* --- pacing --- */

  // Time on screen for a card while `waiting` others wait: the queue shares half the
  // lag bound, each card between the floor and its full duration.
  function slotFor(waiting, fullMs) {
    if (!waiting) return fullMs;
    return Math.max(floorMs, Math.min(fullMs, maxLagMs / 2 / (waiting + 1)));
  }

  // Would any waiting donation, shown one by one at the planned pace, pass the bound?
  function overdue() {
    var step = slotFor(queue.length, baseMs) + LEAVE_MS, now = Date.now();
    for (var i = 0; i < queue.length; i++) {
      if (now - queue[i].arrived + (i + 1) * step > maxLagMs - step) return true;
    }
    return false;
  }

  function noteShown(items) {
    var now = Date.now();
    items.forEach(function (item) {
      if (!item.duringPause) stats.maxLag = Math.max(stats.maxLag, now - item.arrived);
    });
  }

  function show(card, items, fullMs, sound) {
    var start = Date.now();
    stage.appendChild(card);
    play(sound);
    noteShown(items);
    current = { card: card, items: items, start: start, fullMs: fullMs, end: start + slotFor(queue.length, fullMs), timer: 0 };
    endAt(current.end);
  }

  function endAt(time) {
    if (!current) return;
    current.end = time;
    clearTimeout(current.timer);
    current.timer = setTimeout(leave, Math.max(0, time - Date.now()));
  }

  function leave() {
    var leaving = current;
    if (!leaving || leaving.leaving) return;
    leaving.leaving = true;
    clearTimeout(leaving.timer);
    leaving.card.classList.add("is-leaving");
    setTimeout(function () {
      leaving.card.remove();
      if (current === leaving) current = null;
      next();
    }, reducedMotion() ? 0 : LEAVE_MS);
  }

  function next() {
    if (current || paused || !queue.length) return;
    if (!queue[0].tier && !queue[0].replay && queue.length > 1 && overdue()) {
      var items = queue;
      queue = [];
      items.forEach(function (item) { stats.grouped.push(item.donation.id); });
      show(buildGroup(items), items, floorMs, undefined);
      return;
    }
    var item = queue.shift();
    if (!item.replay) stats.shown.push(item.donation.id);
    var fullMs = item.tier && item.tier.duration ? item.tier.duration * 1000 : baseMs;
    show(buildSingle(item), [item], fullMs, item.tier ? item.tier.sound : undefined);
  }

  // Something new waits: the card on screen makes room (never below the floor), at once
  // for a tier donation or a replay.
  function makeRoom(urgent) {
    if (!current || current.leaving) return;
    var soonest = current.start + floorMs;
    var wanted = urgent ? Date.now() : current.start + slotFor(queue.length, current.fullMs);
    var end = Math.min(current.end, Math.max(soonest, wanted));
    if (end < current.end) endAt(end);
  }

  function enqueue(item) {
    if (item.tier || item.replay) {
      // Behind other urgent ones, ahead of every small donation.
      var at = 0;
      while (at < queue.length && (queue[at].tier || queue[at].replay)) at++;
      queue.splice(at, 0, item);
    } else {
      queue.push(item);
    }
    makeRoom(!!(item.tier || item.replay));
    next();
  }

  /* --- what live.js hands over --- */

  function donation(data) {
    if (seen[data.id]) return;
    seen[data.id] = true;
    if (!data.test) lastId = Math.max(lastId, data.id);
    // A test alert always shows: staff sent it to see the overlay, whatever its minimum.
    if (!data.test && toNumber(counted(data)) < minimum) return;
    stats.received += 1;
    enqueue({ donation: data, arrived: Date.now(), tier: tierFor(data), replay: false, duringPause: paused });
  }

  function removed(data) {
    queue = queue.filter(function (item) { return item.donation.id !== data.id; });
    if (current && current.items.length === 1 && current.items[0].donation.id === data.id) leave();
  }

  function control(data) {
    switch (data && data.action) {
      case "skip":
        if (current) { stats.skipped += 1; leave(); }
        break;
      case "pause":
        paused = stats.paused = true;
        queue.forEach(function (item) { item.duringPause = true; });
        break;
      case "resume":
        paused = stats.paused = false;
        next();
        break;
      case "clear":
        queue.forEach(function (item) { stats.cleared.push(item.donation.id); });
        queue = [];
        break;
      case "replay":
        if (data.donation && data.donation.id !== undefined) {
          enqueue({ donation: data.donation, arrived: Date.now(), tier: tierFor(data.donation), replay: true, duringPause: paused });
        }
        break;
    }
    doc.documentElement.setAttribute("data-alerts-paused", paused ? "1" : "0");
  }

  // Any donation newer than the page that a snapshot shows before its own event arrived
  // (a snapshot read just after a commit, a reconnect, polling) still gets its alert, once.
  function render(snapshot) {
    campaignCurrency = snapshot.currency || campaignCurrency;
    var recent = (snapshot.recent || []).slice().sort(function (a, b) { return a.id - b.id; });
    recent.forEach(function (d) {
      if (d.id > lastId && !seen[d.id]) donation(d);
    });
  }

  return { render: render, donation: donation, removed: removed, control: control };
}

