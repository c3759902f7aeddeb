/**
 * The dashboard served at `/`: one self-contained HTML page (inline CSS and JavaScript, no CDN,
 * no build step) that polls `/api/runs` every second and draws, per run:
 *
 * - the workflow's graph as the plan knows it (nodes by depth, edges, fused chains outlined,
 *   queue fill under each node that reads a channel: backpressure shows as a full red bar);
 * - per-node throughput over the last minutes (records/s out, from the server's one-second
 *   samples), as small charts;
 * - checkpoints (count, failures, last id, duration, age, state size), restarts, errors, dead
 *   letters and source lag.
 *
 * Why plain JavaScript in a string: the page is small, has no dependency, and needs no bundler or
 * asset pipeline in the package (the library is compiled by `tsc`, the CLI bundled by rolldown;
 * both carry a string module as it is). Everything that comes from the workflow (node ids, types)
 * is inserted as text nodes, never as HTML. It is tested in a real headless Chromium
 * (test/observability/Dashboard.test.ts).
 */

const STYLE = `
:root { --bg:#0f1419; --panel:#171e26; --line:#2a3441; --text:#d8dee6; --dim:#8793a1; --accent:#4fb3ff; --ok:#3ecf8e; --warn:#f5a524; --bad:#f2555a; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--text); }
header { display:flex; align-items:baseline; gap:16px; padding:12px 20px; border-bottom:1px solid var(--line); }
header h1 { font-size:18px; margin:0; }
header .dim { color:var(--dim); }
#banner { display:none; padding:8px 20px; background:#3a1d1f; color:#ffb4b7; }
main { padding:16px 20px; display:grid; gap:16px; }
section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 16px; }
section h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 10px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; }
.badge.ok { background:#123d2b; color:var(--ok); } .badge.warn { background:#3d2f12; color:var(--warn); } .badge.bad { background:#3d1214; color:var(--bad); }
#graph svg { display:block; max-width:100%; }
.node rect.box { fill:#1d2631; stroke:#3a4757; rx:6; }
.node.source rect.box { stroke:#4fb3ff; } .node.sink rect.box { stroke:#3ecf8e; } .node.processor rect.box { stroke:#a78bfa; }
.node text { fill:var(--text); font-size:12px; } .node text.dim { fill:var(--dim); font-size:11px; }
.edge { fill:none; stroke:#4a5869; stroke-width:1.5; }
.chain { fill:none; stroke:#6b7a8c; stroke-dasharray:4 3; rx:10; }
.qbar-bg { fill:#0b0f14; } .qbar { fill:var(--ok); }
.stats { display:grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap:10px; }
.stat { background:#1d2631; border-radius:6px; padding:8px 10px; } .stat .v { font-size:18px; font-weight:600; } .stat .k { color:var(--dim); font-size:12px; }
table { border-collapse:collapse; width:100%; } th, td { text-align:right; padding:4px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align:left; } th { color:var(--dim); font-weight:500; font-size:12px; }
td.bad { color:var(--bad); font-weight:600; }
.charts { display:grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap:12px; }
.chart { background:#1d2631; border-radius:6px; padding:8px 10px; } .chart .title { display:flex; justify-content:space-between; font-size:12px; color:var(--dim); }
.chart .title b { color:var(--text); } .chart svg { display:block; width:100%; height:56px; }
.chart polyline { fill:none; stroke:var(--accent); stroke-width:1.5; } .chart polyline.queue { stroke:var(--warn); stroke-width:1; }
footer { color:var(--dim); font-size:12px; padding:0 20px 16px; }
a { color:var(--accent); }
`

const SCRIPT = `
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const el = (tag, attrs, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};
const svg = (tag, attrs, ...children) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};
const fmt = (n) => (n === undefined || n === null || !isFinite(n)) ? "-" : Math.round(n).toLocaleString("en");
const dur = (ms) => ms < 1000 ? Math.round(ms) + " ms" : ms < 60000 ? (ms / 1000).toFixed(1) + " s" : Math.floor(ms / 60000) + " m " + String(Math.round(ms / 1000) % 60).padStart(2, "0") + " s";
const bytes = (v) => v < 1000 ? Math.round(v) + " B" : v < 1e6 ? (v / 1e3).toFixed(1) + " kB" : v < 1e9 ? (v / 1e6).toFixed(1) + " MB" : (v / 1e9).toFixed(2) + " GB";
const lagText = (lag) => !lag ? "" : lag.unit === "bytes" ? bytes(lag.value) : lag.unit === "records" ? fmt(lag.value) + " records" : dur(lag.value);
const fillColor = (r) => r >= 0.9 ? "#f2555a" : r >= 0.6 ? "#f5a524" : "#3ecf8e";

/** records/s between the last two samples of a column */
const rateOf = (at, values) => {
  const n = at.length;
  if (n < 2 || !values || values.length < n) return undefined;
  const dt = at[n - 1] - at[n - 2];
  return dt > 0 ? Math.max(0, values[n - 1] - values[n - 2]) * 1000 / dt : undefined;
};
const ratesOf = (at, values) => {
  const out = [];
  for (let i = 1; i < at.length; i++) {
    const dt = at[i] - at[i - 1];
    out.push(dt > 0 ? Math.max(0, values[i] - values[i - 1]) * 1000 / dt : 0);
  }
  return out;
};

let selected;

function drawGraph(run) {
  const depth = new Map();
  const inputs = new Map(run.nodes.map((n) => [n.id, []]));
  for (const e of run.edges) if (inputs.has(e.to)) inputs.get(e.to).push(e.from);
  const depthOf = (id, seen) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(-1, ...(inputs.get(id) || []).map((i) => depthOf(i, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  for (const n of run.nodes) depthOf(n.id, new Set());
  const columns = [];
  for (const n of run.nodes) (columns[depth.get(n.id)] = columns[depth.get(n.id)] || []).push(n);
  const W = 190, H = 74, GX = 60, GY = 22, PAD = 14;
  const pos = new Map();
  columns.forEach((col, c) => col.forEach((n, r) => pos.set(n.id, { x: PAD + c * (W + GX), y: PAD + r * (H + GY) })));
  const width = PAD * 2 + columns.length * W + (columns.length - 1) * GX;
  const height = PAD * 2 + Math.max(...columns.map((c) => c.length)) * (H + GY) - GY;
  const root = svg("svg", { width, height, viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": "workflow graph" });
  // fused chains: nodes run by one task, outlined together
  const tasks = new Map();
  for (const n of run.nodes) (tasks.get(n.task) || tasks.set(n.task, []).get(n.task)).push(n);
  for (const members of tasks.values()) {
    if (members.length < 2) continue;
    const ps = members.map((m) => pos.get(m.id));
    const x0 = Math.min(...ps.map((p) => p.x)) - 6, y0 = Math.min(...ps.map((p) => p.y)) - 6;
    const x1 = Math.max(...ps.map((p) => p.x)) + W + 6, y1 = Math.max(...ps.map((p) => p.y)) + H + 6;
    root.append(svg("rect", { class: "chain", x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, svg("title", {}, "fused: one task runs " + members.map((m) => m.id).join(" → "))));
  }
  for (const e of run.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
    root.append(svg("path", { class: "edge", "data-edge": e.from + "->" + e.to, d: "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2 }));
  }
  const hist = run.history;
  for (const n of run.nodes) {
    const p = pos.get(n.id);
    const h = hist.nodes[n.id];
    const rate = h ? rateOf(hist.at, n.kind === "sink" ? h.in : h.out) : undefined;
    const g = svg("g", { class: "node " + n.kind, "data-node": n.id, transform: "translate(" + p.x + "," + p.y + ")" });
    g.append(svg("rect", { class: "box", width: W, height: H }));
    g.append(svg("text", { x: 10, y: 18 }, n.id.length > 24 ? n.id.slice(0, 23) + "…" : n.id));
    g.append(svg("text", { class: "dim", x: 10, y: 34 }, n.type + " · " + n.kind + (n.parallelism > 1 ? " ×" + n.parallelism : "") + (n.open ? "" : " · not open")));
    g.append(svg("text", { class: "dim rate", x: 10, y: 50 }, fmt(rate) + " rec/s" + (n.lag ? " · lag " + lagText(n.lag) : "")));
    if (n.queue) {
      const r = n.queue.capacity > 0 ? n.queue.batches / n.queue.capacity : 0;
      g.append(svg("rect", { class: "qbar-bg", x: 10, y: 58, width: W - 20, height: 7, rx: 3 }));
      g.append(svg("rect", { class: "qbar", "data-fill": r.toFixed(2), x: 10, y: 58, width: Math.max(0, (W - 20) * r), height: 7, rx: 3, style: "fill:" + fillColor(r) },
        svg("title", {}, "queue " + n.queue.batches + "/" + n.queue.capacity + " batches")));
    }
    root.append(g);
  }
  return root;
}

function drawCharts(run) {
  const box = el("div", { class: "charts" });
  const at = run.history.at;
  for (const n of run.nodes) {
    const h = run.history.nodes[n.id];
    if (!h) continue;
    const rates = ratesOf(at, n.kind === "sink" ? h.in : h.out);
    const max = Math.max(1, ...rates);
    const W = 300, H = 56;
    const points = rates.map((r, i) => ((rates.length < 2 ? 0 : i / (rates.length - 1)) * W).toFixed(1) + "," + (H - 2 - (r / max) * (H - 4)).toFixed(1)).join(" ");
    const queue = h.queue.slice(1).map((q, i) => ((rates.length < 2 ? 0 : i / (rates.length - 1)) * W).toFixed(1) + "," + (H - 2 - q * (H - 4)).toFixed(1)).join(" ");
    const chart = svg("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none" });
    chart.append(svg("polyline", { points }));
    if (n.queue) chart.append(svg("polyline", { class: "queue", points: queue }));
    const current = rateOf(at, n.kind === "sink" ? h.in : h.out);
    box.append(el("div", { class: "chart", "data-chart": n.id },
      el("div", { class: "title" }, el("b", {}, n.id), el("span", { class: "rate" }, fmt(current) + " rec/s · peak " + fmt(max))),
      chart));
  }
  return box;
}

function drawTable(run) {
  const head = el("tr", {}, ...["node", "type", "records/s", "in", "out", "errors", "dead letters", "queue", "lag", "latency"].map((h) => el("th", {}, h)));
  const rows = run.nodes.map((n) => {
    const h = run.history.nodes[n.id];
    const rate = h ? rateOf(run.history.at, n.kind === "sink" ? h.in : h.out) : undefined;
    return el("tr", { "data-node": n.id },
      el("td", {}, n.id), el("td", {}, n.type),
      el("td", { class: "rate" }, fmt(rate)),
      el("td", { class: "in" }, fmt(n.recordsIn)), el("td", { class: "out" }, fmt(n.recordsOut)),
      el("td", { class: n.errors > 0 ? "bad errors" : "errors" }, fmt(n.errors)),
      el("td", { class: n.deadLetters > 0 ? "bad dead-letters" : "dead-letters" }, fmt(n.deadLetters)),
      el("td", { class: "queue" }, n.queue ? n.queue.batches + "/" + n.queue.capacity : ""),
      el("td", { class: "lag" }, lagText(n.lag)),
      el("td", {}, n.latency && n.latency.batches > 0 ? dur(n.latency.meanMs) : ""));
  });
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
}

function stat(key, value, cls) {
  return el("div", { class: "stat" + (cls ? " " + cls : "") }, el("div", { class: "v" }, value), el("div", { class: "k" }, key));
}

function render(data) {
  const runs = data.runs;
  const main = document.getElementById("main");
  const title = document.getElementById("title");
  const status = document.getElementById("status");
  if (runs.length === 0) {
    title.textContent = "DataFlare";
    status.replaceChildren(el("span", { class: "badge warn" }, "no workflow"));
    main.replaceChildren(el("section", {}, "No workflow has registered with this server yet."));
    return;
  }
  if (!runs.some((r) => r.workflow === selected)) selected = runs[0].workflow;
  const run = runs.find((r) => r.workflow === selected);
  title.textContent = run.workflow;
  document.title = run.workflow + " — DataFlare";
  const kind = run.ready ? "ok" : run.status === "failed" ? "bad" : "warn";
  const elapsed = (run.endedAt || data.now) - run.startedAt;
  status.replaceChildren(
    el("span", { class: "badge " + kind, id: "run-status" }, run.ready ? "running · ready" : run.status + (run.notReady ? " · " + run.notReady.reason + (run.notReady.node ? " (" + run.notReady.node + ")" : "") : "")),
    el("span", { class: "dim" }, " " + dur(elapsed)));
  const picker = runs.length > 1 ? el("select", { id: "runs" }, ...runs.map((r) => { const o = el("option", { value: r.workflow }, r.workflow + " (" + r.status + ")"); if (r.workflow === selected) o.selected = true; return o; })) : null;
  if (picker) picker.addEventListener("change", (e) => { selected = e.target.value; render(data); });
  const cp = run.checkpoints;
  const last = cp.last;
  const stats = el("div", { class: "stats", id: "checkpoints" },
    stat("checkpoints", fmt(cp.completed)),
    stat("failed checkpoints", fmt(cp.failed), cp.failed > 0 ? "bad" : ""),
    stat("last checkpoint", last ? "#" + last.id + " · " + dur(data.now - last.completedAt) + " ago" : "none yet"),
    stat("last duration", last ? dur(last.durationMs) : "-"),
    stat("state size", last ? bytes(last.stateBytes) : "-"),
    stat("restarts", fmt(run.restarts), run.restarts > 0 ? "bad" : ""),
    stat("errors", fmt(run.nodes.reduce((s, n) => s + n.errors, 0))),
    stat("dead letters", fmt(run.nodes.reduce((s, n) => s + n.deadLetters, 0))));
  main.replaceChildren(
    ...(picker ? [el("section", {}, el("h2", {}, "workflow"), picker)] : []),
    el("section", { id: "graph" }, el("h2", {}, "graph (queue fill under each node that reads a channel)"), drawGraph(run)),
    el("section", {}, el("h2", {}, "checkpoints and failures"), stats),
    el("section", { id: "throughput" }, el("h2", {}, "throughput, records/s over the last " + dur(Math.max(0, (run.history.at.at(-1) || 0) - (run.history.at[0] || 0))) + " (queue fill in orange)"), drawCharts(run)),
    el("section", { id: "nodes" }, el("h2", {}, "nodes"), drawTable(run)));
}

async function poll() {
  const banner = document.getElementById("banner");
  try {
    const response = await fetch("api/runs", { cache: "no-store" });
    if (!response.ok) throw new Error("the server answered " + response.status);
    render(await response.json());
    banner.style.display = "none";
  } catch (error) {
    banner.textContent = "Cannot reach the workflow (" + (error && error.message ? error.message : error) + "); retrying every second.";
    banner.style.display = "block";
  }
  setTimeout(poll, 1000);
}
poll();
`

/** The page. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DataFlare</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header><h1 id="title">DataFlare</h1><span id="status"></span><span class="dim" style="margin-left:auto"><a href="metrics">metrics</a> · <a href="ready">ready</a> · <a href="api/runs">api</a></span></header>
<div id="banner" role="alert"></div>
<main id="main"><section>Loading…</section></main>
<footer>DataFlare dashboard — refreshed every second from <code>/api/runs</code>.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`
