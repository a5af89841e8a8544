/* Fundboard incentives and schedule widgets (/c/<slug>/incentives, /c/<slug>/schedule).
 *
 * The page is cached and carries no numbers (fundboard/incentives/widget_pages.py): this
 * script fetches the first snapshot from /api/v1/campaigns/<slug>, draws its `incentives[]`
 * or `schedule` in place of the skeleton (`data-pending`), then keeps them live over the
 * campaign socket through live.js's LiveConnection (window.FundboardLive), snapshots only.
 * Bid-war rows are reordered by rank; a row that moved gets is-up / is-down for a moment.
 * Words come translated in the config (`words`); only textContent is written.
 */
(function () {
  "use strict";
  var doc = document;
  var root = doc.documentElement;

  function readJSON(id) {
    var node = doc.getElementById(id);
    try { return node ? JSON.parse(node.textContent) : null; } catch (e) { return null; }
  }
  function el(tag, className, text) {
    var node = doc.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var config = readJSON("fb-config") || {};
  if (!config.slug) return;
  var words = config.words || {};

  var formatter = null;
  function money(value) {
    var number = parseFloat(value) || 0;
    try {
      formatter = formatter || new Intl.NumberFormat(config.locale || "en-US", {
        style: "currency", currency: config.currency,
        currencyDisplay: config.currency_display || "symbol",
        minimumFractionDigits: config.decimals === false ? 0 : 2,
        maximumFractionDigits: config.decimals === false ? 0 : 2,
      });
      return formatter.format(number);
    } catch (e) { return value; }
  }
  function percent(total, goal) {
    var g = parseFloat(goal), t = parseFloat(total);
    return g > 0 ? Math.min(100, Math.floor(t / g * 100)) : 0;
  }

  var lastRanks = {};  // option id -> rank shown before

  function drawOption(option, winners) {
    var row = el("li", "fb-option");
    row.setAttribute("data-id", option.id);
    row.setAttribute("data-rank", option.rank);
    if (winners.indexOf(option.id) !== -1) row.classList.add("is-winner");
    var before = lastRanks[option.id];
    if (before && before !== option.rank) row.classList.add(option.rank < before ? "is-up" : "is-down");
    lastRanks[option.id] = option.rank;
    row.appendChild(el("span", "fb-rank", String(option.rank)));
    row.appendChild(doc.createTextNode(" "));
    row.appendChild(el("bdi", "fb-option-title", option.title));
    row.appendChild(doc.createTextNode(" "));
    row.appendChild(el("span", "fb-amount fb-option-total", money(option.total)));
    return row;
  }

  function drawBar(item, card) {
    var figures = el("p", "fb-figures");
    figures.appendChild(el("span", "fb-amount fb-incentive-total", money(item.total)));
    if (item.goal) {
      figures.appendChild(doc.createTextNode(" / "));
      figures.appendChild(el("span", "fb-amount", money(item.goal)));
    }
    card.appendChild(figures);
    var bar = el("div", "fb-bar");
    bar.setAttribute("role", "progressbar");
    var fill = el("div", "fb-fill");
    fill.style.width = percent(item.total, item.goal) + "%";
    bar.setAttribute("aria-valuenow", percent(item.total, item.goal));
    bar.appendChild(fill);
    card.appendChild(bar);
  }

  function drawStages(item, card) {
    var stages = el("ol", "fb-stages");
    item.options.forEach(function (stage) {
      var row = el("li", "fb-stage" + (item.winners.indexOf(stage.id) !== -1 ? " is-winner" : ""));
      row.setAttribute("data-id", stage.id);
      row.appendChild(el("bdi", "", stage.title));
      row.appendChild(doc.createTextNode(" "));
      row.appendChild(el("span", "fb-amount", money(stage.goal)));
      stages.appendChild(row);
    });
    card.appendChild(stages);
  }

  function drawIncentive(item) {
    var card = el("article", "fb-incentive fb-kind-" + item.kind + " is-" + item.state);
    card.setAttribute("data-id", item.id);
    var title = el("h2", "fb-incentive-title");
    title.appendChild(el("bdi", "", item.title));
    if (item.state === "closed") {
      title.appendChild(doc.createTextNode(" "));
      title.appendChild(el("span", "fb-state", words.closed || "closed"));
    }
    card.appendChild(title);
    if (item.kind === "bidwar") {
      var list = el("ol", "fb-options");
      item.options.forEach(function (option) { list.appendChild(drawOption(option, item.winners)); });
      card.appendChild(list);
      return card;
    }
    drawBar(item, card);
    if (item.kind === "stretch") drawStages(item, card);
    return card;
  }

  function drawIncentives(snapshot) {
    var host = doc.getElementById("incentives");
    if (!host) return;
    var shown = (snapshot.incentives || []).filter(function (i) { return i.state !== "upcoming"; });
    var parts = shown.map(drawIncentive);
    if (!parts.length) parts = [el("p", "fb-empty", words.no_incentives || "No incentives open.")];
    host.replaceChildren.apply(host, parts);
  }

  function drawSchedule(snapshot) {
    var schedule = snapshot.schedule || {};
    var now = doc.getElementById("schedule-now"), next = doc.getElementById("schedule-next");
    if (now) now.textContent = schedule.current ? schedule.current.title : "—";
    if (next) next.textContent = schedule.next ? schedule.next.title : "—";
  }

  var draw = config.widget === "schedule" ? drawSchedule : drawIncentives;
  var version = -1;
  function onSnapshot(snapshot) {
    if (typeof snapshot.version !== "number" || snapshot.version < version) return;
    version = snapshot.version;
    draw(snapshot);
    root.setAttribute("data-version", String(version));
  }

  var snapshotUrl = "/api/v1/campaigns/" + encodeURIComponent(config.slug);

  // The first snapshot from the JSON (revalidated, so never older than what a cache in front
  // holds for a second), retried with backoff; the skeleton stays until it is drawn.
  function loadFirst(done, attempt) {
    fetch(snapshotUrl, { cache: "no-cache", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; })
      .then(function (snapshot) {
        if (snapshot && typeof snapshot.version === "number") { done(snapshot); return; }
        setTimeout(function () { loadFirst(done, attempt + 1); }, Math.min(10000, 500 * Math.pow(2, attempt)));
      });
  }

  function follow() {
    var live = window.FundboardLive;
    if (live && live.LiveConnection) {
      live.LiveConnection(config.slug, { snapshot: onSnapshot });
      return;
    }
    // live.js without the shared connection: poll the public JSON instead.
    setInterval(function () {
      fetch(snapshotUrl, { cache: "no-cache" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) { if (s) onSnapshot(s); })
        .catch(function () {});
    }, 5000);
  }

  function start() {
    loadFirst(function (snapshot) {
      // Remember the first ranks, so the first live change animates from them.
      (snapshot.incentives || []).forEach(function (item) {
        (item.options || []).forEach(function (o) { lastRanks[o.id] = o.rank; });
      });
      onSnapshot(snapshot);
      root.removeAttribute("data-pending"); // the skeleton gives way to the real numbers
      follow();
    }, 0);
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
  else start();
})();
