/* Fundboard sponsor matches: the "×2 until 9 pm · $3,210 of $10,000 matched left" line.
 *
 * window.FundboardMatch.follower(node, money, locale, words) returns draw(snapshot): it
 * shows the first active match of the snapshot's `matches[]` (precedence order) in `node`
 * and hides it when none is; the time is checked again every 15 s, so a window that ends
 * with no donation still disappears. The thermometer calls it (live.js); the match widget
 * (/c/<slug>/match) draws with it and follows the socket through window.FundboardLive.
 * Only textContent is written: a sponsor's name is text, never HTML.
 */
(function () {
  "use strict";
  var doc = document;
  var LINE = "{sponsor}: {ratio} until {time} · {remaining} of {cap} matched left";

  function toNumber(value) { var n = parseFloat(value); return isFinite(n) ? n : 0; }

  function isActive(match, now) {
    return Date.parse(match.starts_at) <= now && now < Date.parse(match.ends_at) && toNumber(match.remaining) > 0;
  }

  function activeMatch(snapshot, now) {
    return (snapshot.matches || []).filter(function (m) { return isActive(m, now); })[0] || null;
  }

  // ratio 1: the sponsor doubles each donation, "×2"; 0.5: "×1.5".
  function times(ratio) { return "×" + Math.round((1 + toNumber(ratio)) * 100) / 100; }

  function clock(iso, locale) {
    var moment = new Date(iso);
    var options = moment.getMinutes() ? { hour: "numeric", minute: "2-digit" } : { hour: "numeric" };
    try { return new Intl.DateTimeFormat(locale, options).format(moment); } catch (e) { return moment.toLocaleTimeString(); }
  }

  function line(match, currency, money, locale, template) {
    var parts = {
      sponsor: match.sponsor, ratio: times(match.ratio), time: clock(match.ends_at, locale),
      remaining: money(match.remaining, currency), cap: money(match.cap, currency),
    };
    return (template || LINE).replace(/\{(\w+)\}/g, function (all, key) { return key in parts ? parts[key] : all; });
  }

  function follower(node, money, locale, words) {
    var last = null;
    var template = words && typeof words.match_line === "string" ? words.match_line : LINE;
    function draw(snapshot) {
      if (snapshot) last = snapshot;
      if (!last || !node) return;
      var match = activeMatch(last, Date.now());
      node.hidden = !match;
      node.textContent = match ? line(match, last.currency, money, locale, template) : "";
    }
    setInterval(function () { draw(null); }, 15000);
    return draw;
  }

  window.FundboardMatch = { follower: follower, activeMatch: activeMatch, line: line };

  /* --- the match widget page --- */

  function readJSON(id) {
    var node = doc.getElementById(id);
    try { return node ? JSON.parse(node.textContent) : null; } catch (e) { return null; }
  }

  function startWidget() {
    var node = doc.getElementById("fb-match-line");
    var config = readJSON("fb-config") || {};
    var first = readJSON("fb-snapshot");
    if (!node || !first || !config.slug) return;
    var formatters = {};
    function money(value, currency) {
      try {
        formatters[currency] = formatters[currency] || new Intl.NumberFormat(config.locale || "en-US", {
          style: "currency", currency: currency, currencyDisplay: config.currency_display || "symbol",
          minimumFractionDigits: config.decimals === false ? 0 : 2, maximumFractionDigits: config.decimals === false ? 0 : 2,
        });
        return formatters[currency].format(toNumber(value));
      } catch (e) { return value + " " + currency; }
    }
    var draw = follower(node, money, config.locale || "en-US", config.words);
    var empty = doc.getElementById("fb-match-none");
    function onSnapshot(snapshot) {
      draw(snapshot);
      if (empty) empty.hidden = !node.hidden;
    }
    onSnapshot(first);
    setInterval(function () { if (empty) empty.hidden = !node.hidden; }, 15000);
    var live = window.FundboardLive;
    if (live && live.LiveConnection) live.LiveConnection(config.slug, { snapshot: onSnapshot });
  }

  if (doc.getElementById("fb-match-widget")) {
    // After every deferred script: live.js (loaded after this one) brings the connection.
    doc.addEventListener("DOMContentLoaded", startWidget);
  }
})();
