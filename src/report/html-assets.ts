/** The page's style. Inline: the page loads nothing, so it works from a file, an artifact store or a mail attachment. */
export const pageStyle = `
:root { --fg: #1d232b; --muted: #5b6673; --line: #d9dee4; --allow: #1f7a3d; --cond: #a86400; --deny: #9aa3ad; --high: #b3261e; --medium: #a86400; --low: #4a5a6a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 0 auto; padding: 16px 24px 48px; max-width: 1400px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta { color: var(--muted); margin: 0 0 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 130px; }
.card b { display: block; font-size: 20px; }
.card span { color: var(--muted); font-size: 12px; }
#filters { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); padding: 8px 0; display: flex; flex-wrap: wrap; gap: 12px; align-items: center; z-index: 2; }
#filters label { font-size: 13px; color: var(--muted); }
#filters select { margin-left: 4px; }
#row-count { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f4f6f8; position: sticky; top: 44px; }
td.a { text-align: center; white-space: nowrap; }
td.a small { display: block; color: var(--muted); font-size: 11px; }
.c-allow { color: var(--allow); font-weight: 600; }
.c-cond { color: var(--cond); font-weight: 600; }
.c-deny { color: var(--deny); }
.hl { background: #fff6d6; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-all; }
.sev { display: inline-block; padding: 0 6px; border-radius: 8px; color: #fff; font-size: 11px; text-transform: uppercase; }
.sev-high { background: var(--high); } .sev-medium { background: var(--medium); } .sev-low { background: var(--low); }
#graph-wrap { overflow: auto; max-height: 720px; border: 1px solid var(--line); border-radius: 6px; }
#graph-svg text { font-size: 12px; fill: var(--fg); }
#graph-svg .col-head { font-weight: 600; fill: var(--muted); }
#graph-svg circle { fill: var(--fg); }
#graph-svg .edge { fill: none; stroke-width: 1.6; }
#graph-svg .e-used { stroke: var(--allow); }
#graph-svg .e-unused { stroke: #9aa3ad; }
#graph-svg .e-cond { stroke-dasharray: 5 3; }
#graph-svg .edge:hover { stroke-width: 3.5; }
#graph-svg .off { display: none; }
.legend { color: var(--muted); font-size: 12px; margin: 6px 0; }
.legend i { display: inline-block; width: 26px; height: 0; border-top: 2px solid; vertical-align: middle; margin: 0 4px 0 12px; }
`;

/**
 * The filters: plain DOM, no framework. Matrix rows and graph edges carry `data-cns` (caller
 * namespace), `data-sns` (service namespace), `data-cls` (caller class) and `data-act` (actions
 * with access, space separated); a filter hides what does not match and dims graph nodes left
 * without a visible edge.
 */
export const pageScript = `
(function () {
  'use strict';
  var all = function (selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); };
  var filters = { cns: 'f-cns', sns: 'f-sns', cls: 'f-cls', act: 'f-act' };
  Object.keys(filters).forEach(function (key) { filters[key] = document.getElementById(filters[key]); });
  function keep(el) {
    var data = el.dataset;
    if (filters.cns.value && data.cns !== filters.cns.value) return false;
    if (filters.sns.value && data.sns !== filters.sns.value) return false;
    if (filters.cls.value && data.cls !== filters.cls.value) return false;
    if (filters.act.value && (' ' + data.act + ' ').indexOf(' ' + filters.act.value + ' ') < 0) return false;
    return true;
  }
  function apply() {
    var rows = all('#matrix-table tbody tr');
    var shown = 0;
    rows.forEach(function (row) { var visible = keep(row); row.hidden = !visible; if (visible) shown += 1; });
    document.getElementById('row-count').textContent = shown + ' of ' + rows.length + ' rows';
    var live = {};
    var edges = 0;
    all('#graph-svg .edge').forEach(function (edge) {
      var visible = keep(edge);
      edge.classList.toggle('off', !visible);
      if (visible) { live[edge.dataset.from] = true; live[edge.dataset.to] = true; edges += 1; }
    });
    all('#graph-svg .node').forEach(function (node) { node.classList.toggle('off', !live[node.dataset.id]); });
    document.getElementById('edge-count').textContent = edges + ' edges shown';
    all('[data-col]').forEach(function (cell) { cell.classList.toggle('hl', cell.dataset.col === filters.act.value); });
  }
  Object.keys(filters).forEach(function (key) { filters[key].addEventListener('change', apply); });
  document.getElementById('f-reset').addEventListener('click', function () {
    Object.keys(filters).forEach(function (key) { filters[key].value = ''; });
    apply();
  });
  apply();
})();
`;
