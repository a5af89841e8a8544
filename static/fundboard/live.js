/* Fundboard live client: the entry module of every widget page (an ES module, no build
 * step; its parts are in static/fundboard/live/, alerts.js and match.js).
 *
 * The page is cached and carries no numbers: the first snapshot comes from the JSON
 * endpoint (first_snapshot.js) and is drawn in place of the skeleton; the options come from
 * #fb-config (page.js); the socket then brings every change (connection.js). Every number
 * on a widget is drawn here, by one renderer per widget, with format.js and milestones.js.
 *
 * Cache safety: the page names this file with its version (`?v=<hash>` or a hashed name)
 * and carries an import map (templates/widgets/_live_script.html, fundboard/widgets/
 * modules.py) that gives every module it imports a versioned URL too, so a release never
 * mixes a new entry with an old cached module.
 */

import { createAlerts } from "./alerts.js";
import { MatchWidget } from "./match.js";
import { LiveConnection } from "./live/connection.js";
import { reportHeight } from "./live/embed_height.js";
import { loadFirstSnapshot } from "./live/first_snapshot.js";
import { withoutMotion } from "./live/motion.js";
import { config } from "./live/page.js";
import { donorEntries, fundraiserEntries, RankedList } from "./live/ranked_list.js";
import { Thermometer } from "./live/thermometer.js";
import { Ticker } from "./live/ticker.js";

// Shared with widgets drawn by their own classic scripts (incentives.js), which run after
// this module (module and deferred scripts run in document order).
window.FundboardLive = { LiveConnection };

const WIDGETS = {
  thermometer: () => Thermometer(),
  leaderboard: () => RankedList(fundraiserEntries),
  "top-donors": () => RankedList(donorEntries),
  ticker: () => Ticker(),
  alerts: (first) => createAlerts(first),
  match: () => MatchWidget(),
};

function begin(first) {
  const widget = WIDGETS[config.widget](first);
  withoutMotion(() => widget.render(first));
  document.documentElement.removeAttribute("data-pending"); // the skeleton gives way to the numbers
  const connection = LiveConnection(config.slug, {
    snapshot: (snapshot) => widget.render(snapshot),
    donation: widget.donation,
    removed: widget.removed,
    control: widget.control,
  }, first.version);
  reportHeight(config.widget);
  window.Fundboard = { config, connection };
}

if (config.slug && config.widget in WIDGETS) loadFirstSnapshot(config.slug, begin);
