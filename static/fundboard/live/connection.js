/* The live connection: the campaign socket (/ws/campaigns/<slug>) with capped, jittered
 * reconnects, a resync when a version gap shows, and polling of the JSON snapshot (with
 * its ETag) while websockets are blocked. Hands `snapshot`, `donation`, `donation_removed`
 * and `alert_control` messages to the handlers given. */

// `handlers.donation` absent: the widget draws from snapshots alone, so it asks the server
// for snapshots only (?events=0) and a burst of donations costs it a few frames, not one each.
// `version`: the version of the snapshot already drawn (-1: none).
export function LiveConnection(slug, handlers, version = -1) {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socketUrl = scheme + location.host + "/ws/campaigns/" + encodeURIComponent(slug) +
    (handlers.donation ? "" : "?events=0");
  const snapshotUrl = "/api/v1/campaigns/" + encodeURIComponent(slug);
  const BASE = 500, CAP = 10000, GAP_WAIT = 2000, POLL_EVERY = 5000;
  let socket = null, failures = 0, reconnectTimer = 0, pollTimer = 0, gapTimer = 0, etag = "";
  let freshConnection = false;

  function setState(state) { document.documentElement.setAttribute("data-connection", state); }

  function applySnapshot(snapshot) {
    version = snapshot.version;
    if (gapTimer) { clearTimeout(gapTimer); gapTimer = 0; }
    handlers.snapshot(snapshot);
  }

  // A change announced with a version the last snapshot has not reached: the snapshot
  // normally follows within the coalescing window; if it does not, ask for one.
  function watchVersion(eventVersion) {
    if (typeof eventVersion !== "number" || eventVersion <= version || gapTimer) return;
    gapTimer = setTimeout(() => { gapTimer = 0; if (version < eventVersion) resync(); }, GAP_WAIT);
  }

  function resync() {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "resync" }));
    else poll();
  }

  function onSnapshot(snapshot) {
    // The first snapshot of a new connection is the truth, even if older (a restored DB).
    if (freshConnection || snapshot.version >= version) applySnapshot(snapshot);
    if (freshConnection) {
      // Live only once the server answered: a socket that opens and drops at once (a
      // server shutting down, a proxy) keeps backing off instead of looping.
      freshConnection = false;
      failures = 0;
      stopPolling();
      setState("live");
    }
  }

  function onMessage(event) {
    let message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (!message || !message.data) return;
    if (message.type === "snapshot") {
      onSnapshot(message.data);
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
    socket.onopen = () => { freshConnection = true; };
    socket.onmessage = onMessage;
    socket.onclose = () => { socket = null; failed(); };
  }

  function failed() {
    failures += 1;
    setState(failures >= 2 ? "polling" : "reconnecting");
    // Websockets blocked or the server away: keep the numbers fresh over plain HTTP.
    if (failures >= 2) startPolling();
    const ceiling = Math.min(CAP, BASE * Math.pow(2, failures - 1));
    const delay = ceiling / 2 + Math.random() * ceiling / 2; // "equal jitter": no thundering herd
    if (!reconnectTimer) reconnectTimer = setTimeout(connect, delay);
  }

  // Polling sends the version it has as If-None-Match: an unchanged campaign costs a
  // bodyless 304, answered from the server's memory or from a cache in front of it.
  function poll() {
    if (!window.fetch) return;
    const headers = { Accept: "application/json" };
    if (etag) headers["If-None-Match"] = etag;
    fetch(snapshotUrl, { cache: "no-store", headers })
      .then((response) => {
        if (!response.ok) return null; // 304 included: nothing new
        const tag = response.headers.get("ETag");
        return response.json().then((snapshot) => { if (tag) etag = tag; return snapshot; });
      })
      .then((snapshot) => {
        if (snapshot && typeof snapshot.version === "number" && snapshot.version >= version) applySnapshot(snapshot);
      })
      .catch(() => {});
  }
  function startPolling() { if (!pollTimer) { poll(); pollTimer = setInterval(poll, POLL_EVERY); } }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = 0; } }

  // Back on the network or visible again: try now rather than at the end of a long backoff.
  function retrySoon() {
    if (!socket && reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = 0; failures = Math.min(failures, 1); connect(); }
  }
  window.addEventListener("online", retrySoon);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) retrySoon(); });

  setState("connecting");
  connect();
  return { resync };
}
