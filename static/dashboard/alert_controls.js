/* The dashboard's alert overlay controls (templates/dashboard/_alert_controls.html).
 *
 * Each button POSTs its action (with CSRF) to /dashboard/<slug>/alert-control; the server
 * broadcasts an `alert_control` message to every open alerts overlay of the campaign.
 */
(function () {
  "use strict";

  var form = document.getElementById("alert-controls-form");
  if (!form || !window.fetch) return;
  var status = document.getElementById("alert-controls-status");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  // Not form.action: the buttons named "action" shadow that property.
  var url = form.getAttribute("action");

  function say(text, ok) {
    status.textContent = text;
    status.className = ok ? "ok" : "error";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter;
    if (!button || !button.value) return;
    var body = new URLSearchParams();
    body.set("action", button.value);
    if (button.value === "replay") body.set("donation", form.elements.donation.value);
    button.disabled = true;
    fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" },
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, message: "HTTP " + response.status }; })
        .then(function (answer) { say(answer.message || (answer.ok ? "Sent." : "Failed."), response.ok && answer.ok); });
    }).catch(function () {
      say("Network error: try again.", false);
    }).then(function () { button.disabled = false; });
  });
})();
