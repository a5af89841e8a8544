/* The allocation queue's keyboard flow: one key per donation.
 * The selected item (the first, or the one focused) answers a target's key by submitting its
 * own form with that button; "s" moves to the next item. Keys typed into inputs are ignored. */
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll(".queue-item"));
  var selected = 0;
  function select(index) {
    if (!items.length) return;
    selected = (index + items.length) % items.length;
    items.forEach(function (item, i) { item.classList.toggle("is-selected", i === selected); });
    items[selected].focus();
  }
  items.forEach(function (item, i) { item.addEventListener("focus", function () { selected = i; }); });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && /^(INPUT|SELECT|TEXTAREA|BUTTON|SUMMARY)$/.test(target.tagName)) return;
    if (!items.length) return;
    var key = event.key.toLowerCase();
    if (key === "s" || key === "j") { select(selected + 1); event.preventDefault(); return; }
    if (key === "k") { select(selected - 1); event.preventDefault(); return; }
    var button = items[selected].querySelector('form.quick button[data-key="' + key + '"]');
    if (button) { event.preventDefault(); button.click(); }
  });
  select(0);
})();
