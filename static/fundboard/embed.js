/* Fundboard embed: <script src="https://HOST/static/fundboard/embed.js" data-campaign="slug"
 * data-widget="thermometer" data-bar="#ff6600" async></script>
 * Places an iframe of the widget right where the script tag is, passes the other data-*
 * attributes on as theme options, and resizes the iframe to the height the widget reports.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var WIDGETS = { thermometer: 190, leaderboard: 420, "top-donors": 420, ticker: 64, alerts: 260 };
  var SLUG = /^[-a-zA-Z0-9_]+$/;
  var campaign = script.getAttribute("data-campaign") || "";
  var widget = script.getAttribute("data-widget") || "thermometer";
  if (!SLUG.test(campaign) || !WIDGETS.hasOwnProperty(widget)) {
    if (window.console) console.warn("fundboard embed: set data-campaign and a data-widget of", Object.keys(WIDGETS));
    return;
  }
  var origin = new URL(script.src, location.href).origin;
  var params = new URLSearchParams();
  Array.prototype.forEach.call(script.attributes, function (attr) {
    var name = attr.name;
    if (name.indexOf("data-") !== 0) return;
    var key = name.slice(5).replace(/-/g, "_");
    if (key === "campaign" || key === "widget" || key === "height" || key === "title") return;
    params.set(key, attr.value); // the widget page validates every option itself
  });
  var query = params.toString();
  var frame = document.createElement("iframe");
  frame.src = origin + "/c/" + encodeURIComponent(campaign) + "/" + widget + (query ? "?" + query : "");
  frame.title = script.getAttribute("data-title") || "Fundraising " + widget.replace("-", " ");
  frame.loading = "lazy";
  frame.setAttribute("allowtransparency", "true");
  var height = parseInt(script.getAttribute("data-height"), 10) || WIDGETS[widget];
  frame.style.cssText = "display:block;border:0;width:100%;background:transparent;overflow:hidden;height:" + height + "px";
  script.parentNode.insertBefore(frame, script.nextSibling);

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== origin) return;
    var data = event.data;
    if (!data || data.type !== "fundboard:resize") return;
    var reported = Math.round(Number(data.height));
    if (reported > 0 && reported < 5000) frame.style.height = reported + "px";
  });
})();
