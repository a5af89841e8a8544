/* The first snapshot. The page is cached and carries no numbers: it comes from the JSON
 * endpoint (revalidated, so never older than what a cache in front holds for a second),
 * retried with backoff; the socket then brings every later one. */

export function loadFirstSnapshot(slug, done, attempt = 0) {
  if (!window.fetch) return;
  fetch("/api/v1/campaigns/" + encodeURIComponent(slug), { cache: "no-cache", headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : null))
    .catch(() => null)
    .then((snapshot) => {
      if (snapshot && typeof snapshot.version === "number") { done(snapshot); return; }
      setTimeout(() => loadFirstSnapshot(slug, done, attempt + 1), Math.min(10000, 500 * Math.pow(2, attempt)));
    });
}
