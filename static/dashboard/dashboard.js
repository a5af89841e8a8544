/* The live staff dashboard: listens on the staff socket, re-reads the staff JSON when
   something changed, and sends moderation / source actions as CSRF-protected POSTs.
   Everything a donor typed goes in with textContent, never innerHTML. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("fb-config").textContent);
  var initial = JSON.parse(document.getElementById("fb-initial").textContent);
  var can = config.can;
  var csrf = document.querySelector("#csrf [name=csrfmiddlewaretoken]").value;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clock(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }
  function seconds(value) {
    if (value === null || value === undefined) return "—";
    if (value < 90) return Math.round(value) + " s";
    if (value < 5400) return Math.round(value / 60) + " min";
    return Math.round(value / 3600) + " h";
  }
  // Amounts as "$1,234.50" in the campaign's (or the donation's) currency.
  var formatters = {};
  function money(amount, currency) {
    currency = currency || config.currency;
    if (!formatters[currency]) {
      try {
        formatters[currency] = new Intl.NumberFormat("en-US", {style: "currency", currency: currency});
      } catch (e) {  // not an ISO code (the test currency XTS is one): plain number and code
        formatters[currency] = {format: function (n) { return n.toFixed(2) + " " + currency; }};
      }
    }
    return formatters[currency].format(Number(amount));
  }
  // "Next poll" is never in the past: a poll that is due shows as such.
  function nextPoll(iso) {
    if (!iso) return "—";
    return new Date(iso) <= new Date() ? "due now" : clock(iso);
  }
  function say(text, ok) {
    var line = document.getElementById("status-line");
    line.textContent = text;
    line.className = "status-line " + (ok === false ? "error" : "ok");
  }

  // --- actions over POST ---------------------------------------------------------------
  function post(url, data) {
    var body = new URLSearchParams(data || {});
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {ok: false, message: "HTTP " + response.status}; })
        .then(function (json) { if (!response.ok) json.ok = false; return json; });
    }).then(function (json) {
      say(json.message || (json.ok ? "Done." : "Failed."), json.ok);
      refreshFeed(); if (can.operate_sources) refreshHealth();
      return json;
    }).catch(function () { say("Network error: try again.", false); });
  }
  function withId(template, id) { return template.replace(/\/0(\/|$)/, "/" + id + "$1"); }

  // --- the feed ------------------------------------------------------------------------
  function button(label, action, item) {
    var id = item.id;
    var what = label + ": " + money(item.amount, item.currency) + " from " + (item.name || "(no name)");
    var b = el("button", {type: "button", "data-action": action, "data-id": id, "aria-label": what}, label);
    b.addEventListener("click", function () {
      b.disabled = true;
      post(withId(config.moderate, id), {action: action}).then(function () { b.disabled = false; });
    });
    return b;
  }
  function flags(item) {
    var out = [];
    if (item.test) out.push("test");
    if (item.removed) out.push("removed");
    if (item.held) out.push("waiting for review");
    if (item.anonymous) out.push("asked anonymous");
    if (item.name_hidden) out.push("name hidden");
    if (item.message_hidden) out.push("message hidden");
    if (item.blocked_word) out.push("blocked word");
    if (item.manual) out.push("manual");
    return out;
  }
  function feedRow(item) {
    var row = el("tr", {"data-donation-id": item.id});
    if (item.removed) row.className = "removed";
    row.appendChild(el("td", {}, clock(item.time)));
    var who = el("td", {"class": "donor"});
    who.appendChild(el("bdi", {"class": "real-name"}, item.name || "(no name)"));
    if (item.public_name !== item.name) {
      who.appendChild(el("small", {"class": "public-name"}, " shown as " + item.public_name));
    }
    who.appendChild(el("div", {"class": "muted"}, item.source));
    row.appendChild(who);
    row.appendChild(el("td", {"class": "amount"}, money(item.amount, item.currency)));
    var message = el("td", {"class": "message"});
    message.appendChild(el("bdi", {}, item.message));
    if (item.message && !item.message_public) message.appendChild(el("small", {"class": "public-name"}, " (not public)"));
    row.appendChild(message);
    row.appendChild(el("td", {"class": "flags"}, flags(item).join(", ")));
    if (can.moderate) {
      var tools = el("td", {"class": "tools"});
      if (!item.removed) {
        if (item.name) tools.appendChild(item.name_hidden ? button("Restore name", "restore_name", item) : button("Hide name", "hide_name", item));
        if (item.message) tools.appendChild(item.message_hidden ? button("Restore message", "restore_message", item) : button("Hide message", "hide_message", item));
        if (item.held) tools.appendChild(button("Approve", "approve", item));
      }
      row.appendChild(tools);
    }
    return row;
  }
  // Rows are kept while their donation is unchanged, and new ones inserted around them: the
  // feed is re-read on every donation, and a rebuilt table under a moderator's pointer (a
  // mousedown on one button, the mouseup on its replacement) loses the click, and the focus.
  function showFeed(data) {
    var body = document.getElementById("feed");
    var shown = {};
    Array.prototype.forEach.call(body.children, function (row) { shown[row.dataset.donationId] = row; });
    var rows = data.feed.map(function (item) {
      var signature = JSON.stringify(item), row = shown[item.id];
      if (row && row.feedSignature === signature) return row;
      row = feedRow(item);
      row.feedSignature = signature;
      return row;
    });
    rows.forEach(function (row, i) {
      if (body.children[i] !== row) body.insertBefore(row, body.children[i] || null);
    });
    while (body.children.length > rows.length) body.lastElementChild.remove();
    document.getElementById("feed-empty").hidden = data.feed.length > 0;
    document.getElementById("waiting").textContent = data.waiting ? "(" + data.waiting + " waiting for review)" : "";
    // A mass removal found since the page loaded: say so (its buttons come with a reload).
    var notice = document.getElementById("pending-notice");
    var shown = document.querySelectorAll("#pending-removals li").length;
    notice.hidden = !(data.pending_removals > shown);
    notice.textContent = notice.hidden ? "" :
      data.pending_removals + " mass removal(s) wait for you: reload the page to review them.";
    var approveAll = document.getElementById("approve-all-form");
    if (approveAll) approveAll.hidden = !data.waiting;
    var actions = document.getElementById("actions");
    actions.replaceChildren.apply(actions, data.actions.map(function (a) {
      return el("li", {"data-action": a.action}, clock(a.time) + " · " + a.user + " · " + a.action_label + (a.detail ? " · " + a.detail : ""));
    }));
  }

  // --- source health ---------------------------------------------------------------------
  function healthRow(s) {
    var row = el("tr", {"data-source-id": s.id, "class": "status-" + s.status});
    var name = el("td");
    if (config.sourceAdmin) name.appendChild(el("a", {href: withId(config.sourceAdmin, s.id)}, s.name));
    else name.appendChild(el("span", {}, s.name));
    name.appendChild(el("div", {"class": "muted"}, s.kind_label + (s.enabled ? "" : " (disabled)")));
    row.appendChild(name);
    row.appendChild(el("td", {"class": "status"}, s.status_label));
    row.appendChild(el("td", {}, clock(s.last_success_at)));
    row.appendChild(el("td", {title: "Since it last told us anything: " + clock(s.last_heard_at)}, seconds(s.lag_seconds)));
    row.appendChild(el("td", {}, s.consecutive_failures));
    row.appendChild(el("td", {"class": "error"}, s.last_error ? s.last_error + " (" + clock(s.last_error_at) + ")" : "—"));
    row.appendChild(el("td", {}, s.streams ? "—" : nextPoll(s.next_poll_at)));
    row.appendChild(el("td", {}, s.streams ? (s.stream_connected ? "connected" : "not connected") : "—"));
    row.appendChild(el("td", {title: s.last_rejection || ""}, s.rejected_records));
    row.appendChild(el("td", {}, s.drift || "—"));
    var tools = el("td", {"class": "tools"});
    if (s.can_poll) {
      var poll = el("button", {type: "button", "data-source-action": "poll", "aria-label": "Poll " + s.name + " now"}, "Poll now");
      poll.addEventListener("click", function () { post(withId(config.poll, s.id)); });
      tools.appendChild(poll);
    }
    if (s.can_reconnect) {
      var again = el("button", {type: "button", "data-source-action": "reconnect", "aria-label": "Reconnect " + s.name}, "Reconnect");
      again.addEventListener("click", function () { post(withId(config.reconnect, s.id)); });
      tools.appendChild(again);
    }
    row.appendChild(tools);
    return row;
  }
  function showHealth(sources) {
    var body = document.getElementById("health");
    body.replaceChildren.apply(body, sources.map(healthRow));
  }

  // --- re-reading (coalesced: one request for a burst of messages) ----------------------
  function coalesced(url, show) {
    var timer = null, running = false, again = false;
    function run() {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (r.redirected || !r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(show)
        .catch(function () { say("Could not refresh; are you still signed in?", false); })
        .finally(function () { running = false; if (again) { again = false; schedule(); } });
    }
    function schedule() { if (!timer) timer = setTimeout(run, 150); }
    return schedule;
  }
  var refreshFeed = coalesced(config.feed, showFeed);
  var refreshHealth = coalesced(config.health, function (d) { showHealth(d.sources); });

  function showSnapshot(s) {
    document.getElementById("total").textContent = money(s.total, s.currency);
    document.getElementById("goal").textContent = money(s.goal, s.currency);
    document.getElementById("count").textContent = s.donation_count;
    document.getElementById("version").textContent = s.version;
    document.getElementById("fill").style.width = Math.min(100, s.progress * 100) + "%";
  }

  // --- the chart: redrawn from chart.json, at most every few seconds -------------------
  var SVG = "http://www.w3.org/2000/svg";
  var chartScale = "minute";
  function drawChart(data) {
    var svg = document.getElementById("chart");
    if (!svg) return;
    var width = svg.viewBox.baseVal.width, height = svg.viewBox.baseVal.height;
    var buckets = data.buckets;
    var highest = Math.max.apply(null, buckets.map(function (b) { return Number(b.amount); }).concat([0])) || 1;
    var step = width / Math.max(buckets.length, 1);
    var bars = svg.querySelector(".bars");
    bars.replaceChildren.apply(bars, buckets.map(function (b, i) {
      var h = Number(b.amount) / highest * height;
      var rect = document.createElementNS(SVG, "rect");
      [["class", "chart-bar"], ["x", i * step], ["y", height - h], ["width", Math.max(step - 1, 0.5)], ["height", h],
       ["data-start", b.start], ["data-amount", b.amount], ["data-count", b.count]].forEach(function (a) {
        rect.setAttribute(a[0], a[1]);
      });
      var title = document.createElementNS(SVG, "title");
      title.textContent = clock(b.start) + ": " + money(b.amount, data.currency) + ", " + b.count + " donations";
      rect.appendChild(title);
      return rect;
    }));
    svg.setAttribute("data-scale", data.scale);
    document.getElementById("chart-summary").textContent = buckets.length + " bars, one per " + data.scale + ".";
  }
  var chartRefresh = coalesced(config.chart + "?scale=minute", drawChart);
  var chartTimer = null;
  function refreshChart() {  // throttled: a burst of donations redraws once every 5 s
    if (chartTimer) return;
    chartTimer = setTimeout(function () { chartTimer = null; chartRefresh(); }, 5000);
  }
  document.querySelectorAll("[data-chart-scale]").forEach(function (b) {
    b.addEventListener("click", function () {
      chartScale = b.getAttribute("data-chart-scale");
      chartRefresh = coalesced(config.chart + "?scale=" + chartScale, drawChart);
      document.querySelectorAll("[data-chart-scale]").forEach(function (other) {
        other.setAttribute("aria-pressed", other === b ? "true" : "false");
      });
      document.getElementById("chart-scale-label").textContent =
        chartScale === "minute" ? "per minute, last hour" : "per hour, whole campaign";
      chartRefresh();
    });
  });

  // --- the staff socket -------------------------------------------------------------------
  var delay = 500;
  function connect() {
    var state = document.getElementById("socket-state");
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + config.socket);
    ws.onopen = function () { delay = 500; state.textContent = "live"; state.className = "badge live"; refreshFeed(); };
    ws.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "snapshot") { showSnapshot(message.data); refreshFeed(); refreshChart(); }
      else if (message.type === "donation" || message.type === "donation_removed") refreshFeed();
      else if (message.type === "source_health" && can.operate_sources) refreshHealth();
    };
    ws.onclose = function () {
      state.textContent = "reconnecting…"; state.className = "badge down";
      setTimeout(connect, delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, 15000);
    };
  }

  // Plain forms marked data-ajax post in place (the page keeps its live state).
  document.querySelectorAll("form[data-ajax], #review-form, #approve-all-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = {};
      new FormData(form).forEach(function (value, name) { if (name !== "csrfmiddlewaretoken") data[name] = value; });
      post(form.action, data);
    });
  });

  // The bar's first width comes from the page (no style= attribute: the CSP forbids them).
  var fill = document.getElementById("fill");
  fill.style.width = Math.min(100, Number(fill.dataset.progress) || 0) + "%";
  showFeed(initial);
  if (initial.health) showHealth(initial.health);
  if (can.operate_sources) setInterval(refreshHealth, 15000);  // lag keeps growing between events
  connect();
})();
