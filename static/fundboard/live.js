/* Fundboard live client: one dependency-free script shared by every widget page.
 *
 * The page is cached and carries no numbers: this script fetches the first snapshot from
 * /api/v1/campaigns/<slug> (or reads an embedded #fb-snapshot), draws it in place of the
 * skeleton, reads the options (#fb-config), connects to /ws/campaigns/<slug>,
 * applies `snapshot`, `donation` and `donation_removed` messages, reconnects with capped
 * backoff and jitter, resyncs when a version gap shows, and polls the JSON snapshot when
 * websockets are blocked. Everything a donor typed is set with textContent, never as HTML.
 */
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement;

  function byId(id) { return doc.getElementById(id); }
  function readJSON(id) {
    var el = byId(id);
    try { return el ? JSON.parse(el.textContent) : null; } catch (e) { return null; }
  }
  function el(tag, className, text) {
    var node = doc.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var config = readJSON("fb-config") || {};
  var firstSnapshot = readJSON("fb-snapshot");
  var motionQuery = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;
  var drawInstantly = false; // the first paint: the numbers appear as they are, no count-up
  function reducedMotion() { return drawInstantly || !!(motionQuery && motionQuery.matches); }

  // The page's words in the viewer's language, from the server's translations
  // (fundboard/widgets/words.py) with the URL's label overrides: drawn as text only.
  var words = config.words || {};
  function word(key, english) { return words[key] || english; }
  var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(config.language || "en") : null;
  // Hidden and anonymous donors arrive as "Anonymous" (live/snapshot.py): shown translated.
  function displayName(name) { return name === "Anonymous" ? word("anonymous", name) : name; }
  function donationsWord(count) {
    return plurals && plurals.select(count) === "one" ? word("donations_one", "donation") : word("donations_other", "donations");
  }

  /* ---------------------------------------------------------------- money and numbers --- */

  function MoneyFormat(locale, display, decimals) {
    var cache = {};
    function formatter(currency) {
      var key = currency || "XXX";
      if (!cache[key]) {
        var options = { style: "currency", currency: key, currencyDisplay: display || "symbol" };
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
    var NUMBER_PARTS = { integer: 1, group: 1, decimal: 1, fraction: 1, minusSign: 1 };
    // Splits "$1,234.50" / "1.234,50 €" into prefix, number and suffix, so the number alone
    // can count up while the currency sign stays put wherever the locale places it.
    function parts(value, currency) {
      var all = formatter(currency).formatToParts(value);
      var first = -1, last = -1;
      for (var i = 0; i < all.length; i++) {
        if (NUMBER_PARTS[all[i].type]) { if (first < 0) first = i; last = i; }
      }
      function join(list) { return list.map(function (p) { return p.value; }).join(""); }
      return { prefix: join(all.slice(0, first)), number: join(all.slice(first, last + 1)), suffix: join(all.slice(last + 1)) };
    }
    function text(value, currency) { return formatter(currency).format(value); }
    var wholes = {};
    // "$1,000" rather than "$1,000.00" where cents add nothing (milestone labels).
    function short(value, currency) {
      if (toNumber(value) % 1 !== 0) return text(value, currency);
      var key = currency || "XXX";
      if (!wholes[key]) {
        try {
          wholes[key] = new Intl.NumberFormat(locale, { style: "currency", currency: key, currencyDisplay: display || "symbol", minimumFractionDigits: 0, maximumFractionDigits: 0 });
        } catch (e) { wholes[key] = formatter(currency); }
      }
      return wholes[key].format(value);
    }
    return { parts: parts, text: text, short: short };
  }

  function safeLocale(locale) {
    try { new Intl.NumberFormat(locale); return locale; } catch (e) { return "en-US"; }
  }
  var locale = safeLocale(config.locale || "en-US");
  var money = MoneyFormat(locale, config.currency_display, config.decimals !== false);
  var integers = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  var percents = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });

  function toNumber(value) { var n = parseFloat(value); return isFinite(n) ? n : 0; }

  // Counts a number from `from` to `to` (ease-out), calling draw(value, done). A timer
  // finishes the count even where animation frames are paused (hidden tabs, OBS scenes).
  function countUp(from, to, duration, draw) {
    if (reducedMotion() || from === to || duration <= 0) { draw(to, true); return function () {}; }
    var start = null, finished = false, frame = 0;
    function finish() { if (!finished) { finished = true; cancelAnimationFrame(frame); draw(to, true); } }
    function step(now) {
      if (finished) return;
      if (start === null) start = now;
      var t = Math.min(1, (now - start) / duration);
      if (t >= 1) { finish(); return; }
      draw(from + (to - from) * (1 - Math.pow(1 - t, 3)), false);
      frame = requestAnimationFrame(step);
    }
    frame = requestAnimationFrame(step);
    var timer = setTimeout(finish, duration + 200);
    return function cancel() { finished = true; cancelAnimationFrame(frame); clearTimeout(timer); };
  }

  /* ------------------------------------------------------------ polite announcements --- */

  // Screen readers hear the latest total at most every 15 s, never a flood in a burst.
  var announcer = (function () {
    var region = byId("fb-announce"), last = 0, pending = null, timer = 0, GAP = 15000;
    function flush() { timer = 0; last = Date.now(); if (region && pending) region.textContent = pending; pending = null; }
    return function announce(message) {
      pending = message;
      if (timer) return;
      var wait = Math.max(0, last + GAP - Date.now());
      timer = setTimeout(flush, wait);
    };
  })();

  /* ------------------------------------------------------------------- celebrations --- */

  var CONFETTI = ["#f94144", "#f3722c", "#f9c74f", "#90be6d", "#43aa8b", "#577590", "#c77dff"];
  function confetti(host) {
    if (reducedMotion() || !host.animate) return;
    var layer = el("div");
    layer.setAttribute("aria-hidden", "true");
    layer.style.cssText = "position:fixed;inset:0;pointer-events:none;overflow:hidden;z-index:10";
    doc.body.appendChild(layer);
    for (var i = 0; i < 36; i++) {
      var bit = el("span");
      var size = 6 + Math.random() * 6;
      bit.style.cssText = "position:absolute;top:-12px;width:" + size + "px;height:" + size * 0.5 + "px;left:" +
        Math.random() * 100 + "%;background:" + CONFETTI[i % CONFETTI.length] + ";border-radius:2px";
      layer.appendChild(bit);
      bit.animate(
        [{ transform: "translate(0,0) rotate(0)" },
         { transform: "translate(" + (Math.random() * 80 - 40) + "px," + (window.innerHeight + 40) + "px) rotate(" + Math.random() * 720 + "deg)" }],
        { duration: 1400 + Math.random() * 1200, easing: "cubic-bezier(.2,.6,.4,1)", delay: Math.random() * 300, fill: "forwards" });
    }
    setTimeout(function () { layer.remove(); }, 3000);
  }

  /* -------------------------------------------------------------------- thermometer --- */

  function Thermometer() {
    var section = doc.querySelector(".fb-thermo");
    var totalEl = byId("total");
    var prefixEl = doc.querySelector('.fb-cur[data-part="prefix"]');
    var suffixEl = doc.querySelector('.fb-cur[data-part="suffix"]');
    var bar = byId("bar"), fill = byId("fill"), goalEl = byId("goal");
    var percentEl = byId("percent"), countEl = byId("count"), countLabel = byId("count-label");
    var badge = byId("goal-badge"), celebration = byId("celebration");
    // The active sponsor match line ("×2 until 9 pm · …"), drawn by match.js when loaded.
    var drawMatch = window.FundboardMatch ? window.FundboardMatch.follower(byId("match"), money.text, locale, config.words) : function () {};
    var shownTotal = toNumber(totalEl.getAttribute("data-value"));
    var shownCount = toNumber(countEl.textContent.replace(/[^0-9]/g, ""));
    var lastTotal = null, milestoneKey = "", stopTotal = function () {}, stopCount = function () {}, hideTimer = 0;

    function drawTotal(value, currency, exact) {
      var p = money.parts(exact, currency);
      if (value !== null) p.number = money.parts(value, currency).number;
      prefixEl.textContent = p.prefix;
      totalEl.textContent = p.number;
      suffixEl.textContent = p.suffix;
    }

    // Past the goal, the bar fills toward the next stretch goal: the smallest milestone above
    // the goal not yet reached (the largest once all are). Same rule as widgets/views.py.
    function target(snapshot, total) {
      var goal = toNumber(snapshot.goal);
      var stretch = (snapshot.milestones || []).map(toNumber).filter(function (m) { return m > goal; })
        .sort(function (a, b) { return a - b; });
      if (goal <= 0 || total < goal || !stretch.length) return { amount: goal, stretching: false };
      var next = stretch.filter(function (m) { return total < m; })[0];
      return { amount: next === undefined ? stretch[stretch.length - 1] : next, stretching: true };
    }

    function drawMilestones(snapshot, total, goal) {
      var amounts = (snapshot.milestones || []).slice();
      if (goal.stretching) amounts.push(snapshot.goal); // the goal is a mark on the way
      var key = goal.amount + "|" + amounts.join(",") + "|" + snapshot.currency;
      if (key !== milestoneKey) {
        milestoneKey = key;
        bar.querySelectorAll(".fb-milestone").forEach(function (m) { m.remove(); });
        amounts.sort(function (a, b) { return toNumber(a) - toNumber(b); }).forEach(function (amount) {
          var value = toNumber(amount);
          if (goal.amount <= 0 || value <= 0 || value > goal.amount) return;
          var mark = el("div", "fb-milestone");
          var at = (value / goal.amount * 100).toFixed(2) + "%";
          mark.style.left = at;
          mark.style.setProperty("--fb-at", at);
          mark.setAttribute("data-amount", amount);
          mark.appendChild(el("span", "fb-milestone-label fb-amount", money.short(amount, snapshot.currency)));
          bar.appendChild(mark);
        });
        unclutterLabels();
      }
      bar.querySelectorAll(".fb-milestone").forEach(function (m) {
        m.classList.toggle("is-reached", total >= toNumber(m.getAttribute("data-amount")));
      });
    }

    // Close milestones on a narrow screen ("$5,0$10,000"): a label that would touch one
    // already kept is hidden (its tick stays). The largest is kept first, then left to right.
    function unclutterLabels() {
      var labels = Array.prototype.slice.call(bar.querySelectorAll(".fb-milestone-label"));
      labels.forEach(function (label) { label.classList.remove("is-crowded"); });
      var order = labels.length ? [labels[labels.length - 1]].concat(labels.slice(0, -1)) : [];
      var kept = [], GAP = 4;
      order.forEach(function (label) {
        var box = label.getBoundingClientRect();
        var clash = kept.some(function (k) {
          return box.left < k.right + GAP && k.left < box.right + GAP && box.top < k.bottom && k.top < box.bottom;
        });
        if (clash) label.classList.add("is-crowded");
        else kept.push(box);
      });
    }
    // Measured again when the bar resizes and once web fonts have loaded (widths change).
    if (window.ResizeObserver) new ResizeObserver(unclutterLabels).observe(bar);
    if (doc.fonts && doc.fonts.ready) doc.fonts.ready.then(unclutterLabels);

    function celebrate(message) {
      celebration.textContent = message;
      celebration.hidden = false;
      clearTimeout(hideTimer);
      hideTimer = setTimeout(function () { celebration.hidden = true; }, 8000);
      confetti(section);
    }

    function crossings(snapshot, before, after) {
      if (before === null || after <= before) return;
      var goal = toNumber(snapshot.goal);
      if (goal > 0 && before < goal && after >= goal) { celebrate("\uD83C\uDF89 " + word("goal_reached_thanks", "Goal reached! Thank you!")); return; }
      var crossed = (snapshot.milestones || []).map(toNumber).filter(function (m) { return before < m && after >= m; });
      if (crossed.length) {
        var amount = money.short(Math.max.apply(null, crossed), snapshot.currency);
        celebrate("\uD83C\uDF89 " + word("milestone_reached", "Milestone reached: %(amount)s").replace("%(amount)s", amount));
      }
    }

    function render(snapshot) {
      var currency = snapshot.currency, total = toNumber(snapshot.total), goal = toNumber(snapshot.goal);
      drawMatch(snapshot);
      stopTotal();
      stopTotal = countUp(shownTotal, total, 1200, function (value, done) {
        shownTotal = value;
        drawTotal(done ? null : value, currency, snapshot.total);
      });
      totalEl.setAttribute("data-value", snapshot.total);
      goalEl.textContent = money.text(snapshot.goal, currency);
      var goalNow = target(snapshot, total);
      var whole = Math.max(0, Math.floor(toNumber(snapshot.progress) * 100 + 1e-9));
      if (goalNow.stretching) whole = Math.floor(total / goalNow.amount * 100 + 1e-9);
      byId("stretch").hidden = !goalNow.stretching;
      byId("stretch-goal").textContent = goalNow.stretching ? money.short(goalNow.amount, currency) : "";
      fill.style.width = Math.min(100, whole) + "%";
      fill.style.setProperty("--fb-at", Math.min(100, whole) + "%"); // the vertical tube's height
      // No goal set: the total and count alone, no "of $0.00" and no percentage.
      byId("of").hidden = byId("percent").hidden = byId("percent-sep").hidden = !(goal > 0);
      bar.setAttribute("aria-valuenow", String(Math.min(100, whole)));
      percentEl.textContent = percents.format(whole / 100);
      var count = snapshot.donation_count || 0;
      stopCount();
      stopCount = countUp(shownCount, count, 900, function (value) {
        shownCount = value;
        countEl.textContent = integers.format(Math.round(value));
      });
      countLabel.textContent = donationsWord(count);
      var reached = goal > 0 && total >= goal;
      section.classList.toggle("is-goal-reached", reached);
      badge.hidden = !reached;
      drawMilestones(snapshot, total, goalNow);
      crossings(snapshot, lastTotal, total);
      if (lastTotal !== null && lastTotal !== total) {
        announcer(money.text(snapshot.total, currency) + " " + word("raised_of", "raised of") + " " + money.text(snapshot.goal, currency) + ", " + percents.format(whole / 100));
      }
      lastTotal = total;
    }
    return { render: render };
  }

  /* ------------------------------------------------- leaderboard and top donors --- */

  function RankedList(pick) {
    var list = byId("list"), empty = byId("empty"), rows = config.rows || 10;

    function keyed(entries) {
      var seen = {};
      return entries.map(function (entry) {
        var key = String(entry.name);
        seen[key] = (seen[key] || 0) + 1;
        return { key: key + "\u0000" + seen[key], entry: entry };
      });
    }

    // Rows rendered by the server get the same keys, so the first update animates them too.
    keyed(Array.prototype.map.call(list.children, function (row) {
      return { name: row.getAttribute("data-key") };
    })).forEach(function (item, index) { list.children[index].__fbKey = item.key; });

    function fillRow(row, rank, entry, currency) {
      // Snapshots come up to 4 times a second in a burst: leave an unchanged row alone.
      var signature = [rank, entry.name, entry.amount, entry.goal, currency].join("\u0000");
      if (row.__fbSignature === signature) return;
      row.__fbSignature = signature;
      row.textContent = "";
      row.appendChild(el("span", "fb-rank", integers.format(rank)));
      var name = el("bdi", "fb-name", displayName(entry.name));
      name.title = entry.name;
      row.appendChild(name);
      row.appendChild(el("span", "fb-amount fb-row-amount", money.text(entry.amount, currency)));
      var goal = toNumber(entry.goal);
      if (goal > 0) {
        var mini = el("span", "fb-minibar");
        mini.setAttribute("aria-hidden", "true");
        var inner = el("span");
        inner.style.width = Math.min(100, toNumber(entry.amount) / goal * 100) + "%";
        mini.appendChild(inner);
        row.appendChild(mini);
      }
    }

    function render(snapshot) {
      var entries = keyed(pick(snapshot).slice(0, rows));
      var before = {};
      Array.prototype.forEach.call(list.children, function (row, index) {
        before[row.__fbKey] = { row: row, top: row.getBoundingClientRect().top, rank: index + 1 };
      });
      var fresh = [];
      entries.forEach(function (item, index) {
        var old = before[item.key];
        var row = old ? old.row : el("li", "fb-row");
        row.__fbKey = item.key;
        fillRow(row, index + 1, item.entry, snapshot.currency);
        list.appendChild(row); // appending an existing node moves it: the list ends in rank order
        fresh.push({ row: row, old: old, rank: index + 1 });
        if (old) delete before[item.key];
      });
      Object.keys(before).forEach(function (key) { before[key].row.remove(); });
      empty.hidden = entries.length > 0;
      if (reducedMotion()) return;
      // FLIP: each row slides from where it was to its new place.
      fresh.forEach(function (item) {
        if (!item.old) { restartClass(item.row, "is-new"); return; }
        var dy = item.old.top - item.row.getBoundingClientRect().top;
        if (dy && item.row.animate) {
          item.row.animate([{ transform: "translateY(" + dy + "px)" }, { transform: "none" }],
            { duration: 650, easing: "cubic-bezier(.22,1,.36,1)" });
        }
        if (item.rank < item.old.rank) restartClass(item.row, "is-up");
      });
    }
    return { render: render };
  }

  function restartClass(node, name) {
    node.classList.remove(name);
    void node.offsetWidth; // restart the CSS animation
    node.classList.add(name);
    setTimeout(function () { node.classList.remove(name); }, 1700);
  }

  function fundraiserEntries(snapshot) {
    var entries = config.board === "teams" ? snapshot.teams : snapshot.fundraisers;
    return (entries || []).map(function (e) { return { name: e.name, amount: e.raised, goal: e.goal }; });
  }
  function donorEntries(snapshot) {
    return (snapshot.top_donors || []).map(function (d) { return { name: d.name, amount: d.total }; });
  }

  /* ------------------------------------------------------------------------- ticker --- */

  function Ticker() {
    var track = byId("track"), rows = config.rows || 10, speed = config.speed || 60;
    var shownKey = null, animation = null;

    var campaignCurrency = "";
    // Converted into the campaign's currency at ingest: "≈ $54.20", the original on hover.
    function amountOf(item) {
      if (!item.converted_amount) return el("span", "fb-amount", money.text(item.amount, item.currency));
      var node = el("span", "fb-amount is-approximate", "≈ " + money.text(item.converted_amount, campaignCurrency));
      node.title = money.text(item.amount, item.currency);
      return node;
    }

    function tick(item) {
      var node = el("span", "fb-tick");
      node.appendChild(el("bdi", "fb-name", displayName(item.name)));
      node.appendChild(doc.createTextNode(" "));
      node.appendChild(amountOf(item));
      if (config.messages !== false && item.message) {
        node.appendChild(doc.createTextNode(" "));
        var message = el("q", "fb-message", item.message);
        message.dir = "auto";
        node.appendChild(message);
      }
      return node;
    }

    function group(items, hidden) {
      var node = el("span", "fb-ticker-track");
      node.style.padding = "0";
      if (hidden) node.setAttribute("aria-hidden", "true");
      items.forEach(function (item) { node.appendChild(tick(item)); });
      if (!items.length) node.appendChild(el("span", "fb-tick fb-empty", word("donations_appear", "Donations will appear here")));
      return node;
    }

    function render(snapshot) {
      var items = (snapshot.recent || []).slice(0, rows);
      campaignCurrency = snapshot.currency;
      var key = items.map(function (i) { return i.id + ":" + i.name + ":" + i.amount + ":" + (i.converted_amount || "") + ":" + (i.message || ""); }).join("|");
      if (key === shownKey) return;
      shownKey = key;
      var phase = animation && animation.effect ? (animation.currentTime || 0) / animation.effect.getTiming().duration : 0;
      if (animation) animation.cancel();
      track.textContent = "";
      track.appendChild(group(items, false));
      if (reducedMotion() || !items.length || !track.animate) return;
      // Two copies scroll by one copy's width, so the loop has no seam.
      track.appendChild(group(items, true));
      var gap = parseFloat(getComputedStyle(track).columnGap) || 0;
      var distance = track.firstChild.getBoundingClientRect().width + gap;
      var duration = Math.max(4000, distance / speed * 1000);
      animation = track.animate([{ transform: "translateX(0)" }, { transform: "translateX(" + -distance + "px)" }],
        { duration: duration, iterations: Infinity });
      animation.currentTime = (phase % 1) * duration;
    }
    return { render: render };
  }

  /* ------------------------------------------------------------------------- alerts --- */

  // The alerts widget lives in alerts.js (loaded by templates/widgets/alerts.html before
  // this script): its queue, pacing and staff controls are its own; it borrows these helpers.
  function Alerts(initial) {
    return window.FundboardAlerts(initial, {
      config: config, el: el, money: money, integers: integers, toNumber: toNumber, reducedMotion: reducedMotion,
    });
  }

  /* --------------------------------------------------------------------- connection --- */

  // `handlers.donation` absent: the widget draws from snapshots alone, so it asks the server
  // for snapshots only (?events=0) and a burst of donations costs it a few frames, not one each.
  function LiveConnection(slug, handlers) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socketUrl = scheme + location.host + "/ws/campaigns/" + encodeURIComponent(slug) +
      (handlers.donation ? "" : "?events=0");
    var snapshotUrl = "/api/v1/campaigns/" + encodeURIComponent(slug);
    var BASE = 500, CAP = 10000, GAP_WAIT = 2000, POLL_EVERY = 5000;
    var socket = null, failures = 0, reconnectTimer = 0, pollTimer = 0, gapTimer = 0, etag = "";
    var version = -1, freshConnection = false;

    function setState(state) { root.setAttribute("data-connection", state); }

    function applySnapshot(snapshot) {
      version = snapshot.version;
      if (gapTimer) { clearTimeout(gapTimer); gapTimer = 0; }
      handlers.snapshot(snapshot);
    }

    // A change announced with a version the last snapshot has not reached: the snapshot
    // normally follows within the coalescing window; if it does not, ask for one.
    function watchVersion(eventVersion) {
      if (typeof eventVersion !== "number" || eventVersion <= version || gapTimer) return;
      gapTimer = setTimeout(function () { gapTimer = 0; if (version < eventVersion) resync(); }, GAP_WAIT);
    }

    function resync() {
      if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "resync" }));
      else poll();
    }

    function onMessage(event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (!message || !message.data) return;
      if (message.type === "snapshot") {
        // The first snapshot of a new connection is the truth, even if older (a restored DB).
        if (freshConnection || message.data.version >= version) {
          applySnapshot(message.data);
        }
        if (freshConnection) {
          // Live only once the server answered: a socket that opens and drops at once (a
          // server shutting down, a proxy) keeps backing off instead of looping.
          freshConnection = false;
          failures = 0;
          stopPolling();
          setState("live");
        }
      } else if (message.type === "donation" && handlers.donation) {
        handlers.donation(message.data);
        watchVersion(message.data.version);
      } else if (message.type === "donation_removed" && handlers.removed) {
        handlers.removed(message.data);
        watchVersion(message.data.version);
      } else if (message.type === "alert_control" && handlers.control) {
        handlers.control(message.data); // staff: skip, pause, resume, clear, replay (alerts.js)
      }
    }

    function connect() {
      reconnectTimer = 0;
      try {
        socket = new WebSocket(socketUrl);
      } catch (e) {
        socket = null;
        failed();
        return;
      }
      socket.onopen = function () { freshConnection = true; };
      socket.onmessage = onMessage;
      socket.onclose = function () { socket = null; failed(); };
    }

    function failed() {
      failures += 1;
      setState(failures >= 2 ? "polling" : "reconnecting");
      // Websockets blocked or the server away: keep the numbers fresh over plain HTTP.
      if (failures >= 2) startPolling();
      var ceiling = Math.min(CAP, BASE * Math.pow(2, failures - 1));
      var delay = ceiling / 2 + Math.random() * ceiling / 2; // "equal jitter": no thundering herd
      if (!reconnectTimer) reconnectTimer = setTimeout(connect, delay);
    }

    // Polling sends the version it has as If-None-Match: an unchanged campaign costs a
    // bodyless 304, answered from the server's memory or from a cache in front of it.
    function poll() {
      if (!window.fetch) return;
      var headers = { Accept: "application/json" };
      if (etag) headers["If-None-Match"] = etag;
      fetch(snapshotUrl, { cache: "no-store", headers: headers })
        .then(function (response) {
          if (!response.ok) return null; // 304 included: nothing new
          var tag = response.headers.get("ETag");
          return response.json().then(function (snapshot) { if (tag) etag = tag; return snapshot; });
        })
        .then(function (snapshot) {
          if (snapshot && typeof snapshot.version === "number" && snapshot.version >= version) applySnapshot(snapshot);
        })
        .catch(function () {});
    }
    function startPolling() { if (!pollTimer) { poll(); pollTimer = setInterval(poll, POLL_EVERY); } }
    function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = 0; } }

    // Back on the network or visible again: try now rather than at the end of a long backoff.
    function retrySoon() {
      if (!socket && reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = 0; failures = Math.min(failures, 1); connect(); }
    }
    window.addEventListener("online", retrySoon);
    doc.addEventListener("visibilitychange", function () { if (!doc.hidden) retrySoon(); });

    if (firstSnapshot) version = firstSnapshot.version;
    setState("connecting");
    connect();
    return { resync: resync };
  }

  // Shared with widgets drawn by their own scripts (incentives.js).
  window.FundboardLive = { LiveConnection: LiveConnection };

  /* ------------------------------------------------------------------ embed height --- */

  // Framed by embed.js: tell the parent page our height so its iframe fits the content.
  function reportHeight() {
    if (window.parent === window || !window.ResizeObserver) return;
    var last = 0;
    new ResizeObserver(function () {
      var height = Math.ceil(doc.body.getBoundingClientRect().height);
      if (height === last) return;
      last = height;
      window.parent.postMessage({ type: "fundboard:resize", widget: config.widget, height: height }, "*");
    }).observe(doc.body);
  }

  /* ------------------------------------------------------------------------- start --- */

  // The page is cached and carries no numbers: the first snapshot comes from the JSON
  // endpoint (revalidated, so never older than what a cache in front holds for a second),
  // retried with backoff; the socket then brings every later one.
  function loadFirstSnapshot(done, attempt) {
    attempt = attempt || 0;
    fetch("/api/v1/campaigns/" + encodeURIComponent(config.slug), { cache: "no-cache", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; })
      .then(function (snapshot) {
        if (snapshot && typeof snapshot.version === "number") { done(snapshot); return; }
        setTimeout(function () { loadFirstSnapshot(done, attempt + 1); }, Math.min(10000, 500 * Math.pow(2, attempt)));
      });
  }

  function start() {
    if (!config.slug) return;
    if (firstSnapshot) begin();
    else if (window.fetch) loadFirstSnapshot(function (snapshot) { firstSnapshot = snapshot; begin(); });
  }

  function begin() {
    var widget;
    switch (config.widget) {
      case "thermometer": widget = Thermometer(); break;
      case "leaderboard": widget = RankedList(fundraiserEntries); break;
      case "top-donors": widget = RankedList(donorEntries); break;
      case "ticker": widget = Ticker(); break;
      case "alerts": widget = Alerts(firstSnapshot); break;
      default: return;
    }
    drawInstantly = true;
    try { widget.render(firstSnapshot); } finally { drawInstantly = false; }
    root.removeAttribute("data-pending"); // the skeleton gives way to the real numbers
    var connection = LiveConnection(config.slug, {
      snapshot: function (snapshot) { widget.render(snapshot); },
      donation: widget.donation,
      removed: widget.removed,
      control: widget.control,
    });
    reportHeight();
    window.Fundboard = { config: config, connection: connection };
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
  else start();
})();
