// The console's few behaviours: state details on click, confirmations, live refresh.
(function () {
  "use strict";

  function text(value) {
    if (value === null || value === undefined) return "";
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch (e) { return String(value); }
  }

  function field(panel, label, value) {
    if (value === null || value === undefined || value === "") return;
    var h = document.createElement("h4"); h.textContent = label; panel.appendChild(h);
    var pre = document.createElement("pre"); pre.textContent = text(value); panel.appendChild(pre);
  }

  function showState(name) {
    var source = document.getElementById("state-details");
    var panel = document.getElementById("state-panel");
    if (!source || !panel) return;
    var details = JSON.parse(source.textContent)[name];
    document.querySelectorAll("svg.graph .state.selected").forEach(function (n) { n.classList.remove("selected"); });
    document.querySelectorAll('svg.graph .state[data-state="' + CSS.escape(name) + '"]').forEach(function (n) { n.classList.add("selected"); });
    panel.replaceChildren();
    panel.dataset.state = name;
    var title = document.createElement("h3"); title.textContent = name; panel.appendChild(title);
    if (!details) { var p = document.createElement("p"); p.textContent = "Not run."; panel.appendChild(p); return; }
    var facts = document.createElement("p");
    facts.className = "facts";
    facts.textContent = details.outcome + " · entered " + details.entered + "× · attempts " + details.attempts +
      (details.retried ? " · retried " + details.retried + "×" : "") +
      (details.seconds !== null ? " · " + details.seconds + " s" : "");
    panel.appendChild(facts);
    field(panel, "Error", details.error);
    field(panel, "Cause", details.cause);
    field(panel, "Input", details.input);
    field(panel, "Output", details.output);
  }

  function bind(root) {
    root.querySelectorAll("svg.graph .state").forEach(function (node) {
      var open = function (event) { event.stopPropagation(); showState(node.dataset.state); };
      node.addEventListener("click", open);
      node.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") open(e); });
    });
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
    });
  }

  function refresh() {
    var main = document.getElementById("main");
    if (!main || !main.dataset.refresh) return;
    var seconds = parseFloat(main.dataset.refresh);
    window.setTimeout(function () {
      if (document.querySelector("main details[open]") || document.activeElement.matches("input, select, textarea")) {
        refresh(); // the operator is reading or typing: keep the page still
        return;
      }
      fetch(window.location.href, { headers: { "X-Console-Fragment": "1" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.redirected || !r.ok) { window.location.reload(); return null; }
          return r.text();
        })
        .then(function (html) {
          if (html === null) return;
          var selected = (document.getElementById("state-panel") || {}).dataset;
          var keep = selected && selected.state;
          var probe = document.createElement("template");
          probe.innerHTML = html;
          var stillLive = probe.content.querySelector("[data-still-running]") !== null;
          main.innerHTML = html;
          if (!stillLive) delete main.dataset.refresh;
          bind(main);
          if (keep) showState(keep);
          refresh();
        })
        .catch(function () { refresh(); });
    }, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () { bind(document); refresh(); });
})();
