/* Polite announcements: screen readers hear the latest total at most every 15 s, never a
 * flood in a burst (the #fb-announce live region in templates/widgets/base.html). */

import { byId } from "./dom.js";

const GAP = 15000;
let last = 0, pending = null, timer = 0;

function flush() {
  timer = 0;
  last = Date.now();
  const region = byId("fb-announce");
  if (region && pending) region.textContent = pending;
  pending = null;
}

export function announce(message) {
  pending = message;
  if (timer) return;
  timer = setTimeout(flush, Math.max(0, last + GAP - Date.now()));
}
