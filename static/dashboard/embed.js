/* The embed builder: options -> widget URL -> live preview iframe, iframe/script snippets and
   the OBS URL. The widget page validates every option itself; this only composes URLs. */
(function () {
  "use strict";
  var options = JSON.parse(document.getElementById("fb-embed-options").textContent);
  var page = JSON.parse(document.getElementById("fb-embed-site").textContent);
  var base = page.site.replace(/\/$/, "") + "/c/" + encodeURIComponent(page.slug) + "/";
  var box = document.getElementById("embed-options");
  var widget = document.getElementById("embed-widget");
  var overlay = document.getElementById("embed-overlay");
  var inputs = {};
  var timer = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  options.fields.forEach(function (field) {
    var label = el("label", {"data-field": field.name});
    label.appendChild(document.createTextNode(field.label + " "));
    var input;
    if (field.type === "select") {
      input = el("select", {name: field.name});
      field.choices.forEach(function (c) { input.appendChild(el("option", {value: c}, c)); });
      input.value = field.default;
    } else if (field.type === "bool") {
      input = el("input", {type: "checkbox", name: field.name});
      input.checked = !!field.default;
    } else if (field.type === "colour") {
      input = el("input", {type: "text", name: field.name, placeholder: "default, a name or #hex", list: "fb-colours"});
    } else {
      input = el("input", {type: field.type === "number" ? "number" : "text", name: field.name});
      if (field.min !== null) input.min = field.min;
      if (field.max !== null) input.max = field.max;
      input.value = field.default;
    }
    label.appendChild(input);
    box.appendChild(label);
    inputs[field.name] = {field: field, input: input, label: label};
  });
  var colourList = el("datalist", {id: "fb-colours"});
  (options.fields.find(function (f) { return f.type === "colour"; }) || {choices: []}).choices
    .forEach(function (c) { if (c) colourList.appendChild(el("option", {value: c})); });
  box.appendChild(colourList);

  function query(forObs) {
    var params = new URLSearchParams();
    if (overlay.checked || forObs) params.set("overlay", "1");
    Object.keys(inputs).forEach(function (name) {
      var item = inputs[name];
      if (item.field.widgets.indexOf(widget.value) < 0) return;
      var value = item.field.type === "bool" ? item.input.checked : item.input.value.trim();
      if (item.field.type === "bool") {
        if (value !== !!item.field.default) params.set(name, value ? "1" : "0");
      } else if (value !== "" && String(value) !== String(item.field.default)) {
        params.set(name, value);
      }
    });
    var text = params.toString();
    return text ? "?" + text : "";
  }
  function escapeAttr(text) {
    return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  }
  function update() {
    timer = null;
    Object.keys(inputs).forEach(function (name) {
      inputs[name].label.hidden = inputs[name].field.widgets.indexOf(widget.value) < 0;
    });
    var url = base + widget.value + query(false);
    var obs = base + widget.value + query(true);
    var width = parseInt(document.getElementById("embed-width").value, 10) || 600;
    var height = parseInt(document.getElementById("embed-height").value, 10) || 300;
    var iframe = '<iframe src="' + escapeAttr(url) + '" width="' + width + '" height="' + height +
      '" style="border:0;background:transparent" allowtransparency="true" title="' +
      escapeAttr(widget.options[widget.selectedIndex].text) + '"></iframe>';
    // static/fundboard/embed.js places the iframe where the tag is and sizes it to the widget:
    // the options travel as data-* attributes (data-currency-display -> currency_display).
    var script = '<script src="' + escapeAttr(page.site.replace(/\/$/, "") + options.embed_script) +
      '" data-campaign="' + escapeAttr(page.slug) + '" data-widget="' + escapeAttr(widget.value) + '"';
    new URLSearchParams(query(false)).forEach(function (value, name) {
      script += " data-" + name.replace(/_/g, "-") + '="' + escapeAttr(value) + '"';
    });
    script += ' async><\/script>';
    document.getElementById("embed-url").value = url;
    document.getElementById("embed-obs").value = obs;
    document.getElementById("embed-iframe").value = iframe;
    document.getElementById("embed-script").value = script;
    var preview = document.getElementById("embed-preview");
    if (preview.getAttribute("src") !== url) preview.setAttribute("src", url);
  }
  function schedule() { if (!timer) timer = setTimeout(update, 250); }

  // Enter in a field would submit the builder's form (and reload the page): it only previews.
  document.getElementById("embed-form").addEventListener("submit", function (event) {
    event.preventDefault();
  });
  document.getElementById("embed-form").addEventListener("input", schedule);
  document.getElementById("embed-form").addEventListener("change", schedule);
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var target = document.getElementById(b.getAttribute("data-copy"));
      target.select();
      var done = function () { document.getElementById("copied").textContent = "Copied."; };
      if (navigator.clipboard) navigator.clipboard.writeText(target.value).then(done, function () { document.execCommand("copy"); done(); });
      else { document.execCommand("copy"); done(); }
    });
  });
  update();
})();
