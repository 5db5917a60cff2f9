// The local dashboard: polls /dashboard/data and redraws its charts and tables in place. Every figure shown
// as text carries `data-figure="<path in the JSON>"`, so what the page says can be checked against the API.
"use strict";

const REFRESH_MS = 3000;
const STAGES = ["Visitor", "Lead", "MQL", "SQL", "Opportunity", "Customer", "Advocate"];
const BANDS = ["green", "yellow", "red"];
const OUTCOMES = ["accepted", "duplicate", "handshake", "rejected"];
const COLORS = ["#3b82f6", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#64748b"];
const BAND_COLORS = { green: "#16a34a", yellow: "#eab308", red: "#dc2626" };
const charts = {};
let refreshes = 0;

Chart.defaults.animation = false; // a live page redraws every few seconds: no tweening in between
Chart.defaults.maintainAspectRatio = false;

function chart(id, type, options) {
  if (!charts[id]) {
    charts[id] = new Chart(document.getElementById(id), { type, data: { labels: [], datasets: [] }, options: options || {} });
  }
  return charts[id];
}

function draw(id, type, labels, datasets, options) {
  const c = chart(id, type, options);
  c.data.labels = labels;
  c.data.datasets = datasets;
  c.update();
}

function number(value) {
  return value === null || value === undefined ? null : Number(value);
}

function cell(text, figure) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "-" : String(text);
  if (figure) td.dataset.figure = figure;
  return td;
}

function rows(tbodyId, lines) {
  // lines: [[label, [value, figurePath], ...], ...]
  const body = document.getElementById(tbodyId);
  body.replaceChildren(
    ...lines.map(([label, ...values]) => {
      const tr = document.createElement("tr");
      tr.append(cell(label), ...values.map(([value, figure]) => cell(value, figure)));
      return tr;
    })
  );
}

function show(data) {
  // the simple figures: every element naming a path into the data
  const derived = { "handoffs.attainment_pct": data.handoffs.attainment === null ? null : (100 * data.handoffs.attainment).toFixed(2) + " %" };
  document.querySelectorAll("[data-figure]").forEach((element) => {
    const path = element.dataset.figure;
    if (element.closest("tbody")) return; // table cells are rebuilt below
    const value = path in derived ? derived[path] : path.split(".").reduce((v, key) => (v === null || v === undefined ? v : v[key]), data);
    if (value !== undefined) element.textContent = value === null ? "-" : String(value);
  });

  const leads = data.leads;
  draw("chart-funnel", "bar", STAGES, [{ label: "leads", data: STAGES.map((s) => leads.by_stage[s]), backgroundColor: COLORS[0] }],
    { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } });
  rows("funnel-table", STAGES.map((s) => [s, [leads.by_stage[s], `leads.by_stage.${s}`]]));

  const days = leads.per_day.map((d) => d.day);
  draw("chart-per-day", "bar", days, [
    ...STAGES.map((s, i) => ({ label: s, data: leads.per_day.map((d) => d.entered[s]), backgroundColor: COLORS[i], stack: "stages" })),
    { label: "MQLs reached", type: "line", data: leads.per_day.map((d) => d.mqls), borderColor: "#111827", backgroundColor: "#111827" },
  ], { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } });

  const h = data.handoffs;
  const spans = [["requested → assigned", "requested_to_assigned"], ["requested → accepted", "requested_to_accepted"]];
  draw("chart-speed", "bar", spans.map(([label]) => label), [
    { label: "p50 (s)", data: spans.map(([, key]) => h[key].p50_seconds), backgroundColor: COLORS[0] },
    { label: "p95 (s)", data: spans.map(([, key]) => h[key].p95_seconds), backgroundColor: COLORS[2] },
  ], { scales: { y: { beginAtZero: true } } });
  rows("speed-table", spans.map(([label, key]) => [label,
    [h[key].count, `handoffs.${key}.count`], [h[key].p50_seconds, `handoffs.${key}.p50_seconds`], [h[key].p95_seconds, `handoffs.${key}.p95_seconds`]]));

  const departments = data.budget ? data.budget.departments : [];
  draw("chart-budget", "bar", departments.map((d) => d.department), [
    { label: "budget", data: departments.map((d) => number(d.budget)), backgroundColor: COLORS[6] },
    { label: "actual", data: departments.map((d) => number(d.actual)), backgroundColor: COLORS[0] },
  ], { scales: { y: { beginAtZero: true } } });
  rows("budget-table", departments.map((d) => [d.department,
    [d.budget, `budget.departments.${d.department}.budget`], [d.actual, `budget.departments.${d.department}.actual`],
    [d.consumption_pct, `budget.departments.${d.department}.consumption_pct`]]));

  const bands = data.health.bands;
  draw("chart-health", "doughnut", BANDS, [{ label: "accounts", data: BANDS.map((b) => bands[b]), backgroundColor: BANDS.map((b) => BAND_COLORS[b]) }]);
  rows("health-table", BANDS.map((b) => [b, [bands[b], `health.bands.${b}`]]));

  const vendors = Object.keys(data.webhooks.by_vendor);
  draw("chart-webhooks", "bar", vendors, OUTCOMES.map((o, i) => ({
    label: o, data: vendors.map((v) => data.webhooks.by_vendor[v][o]), backgroundColor: COLORS[i], stack: "outcomes",
  })), { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } });
  rows("webhooks-table", vendors.map((v) => [v, ...OUTCOMES.map((o) => [data.webhooks.by_vendor[v][o], `webhooks.by_vendor.${v}.${o}`])]));

  const fields = Object.keys(data.sync.by_field);
  draw("chart-sync", "bar", fields, ["open", "resolved"].map((s, i) => ({
    label: s, data: fields.map((f) => data.sync.by_field[f][s]), backgroundColor: COLORS[i + 2], stack: "status",
  })), { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } });
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("/dashboard/data", { cache: "no-store" });
    const data = await response.json();
    if (!response.ok) throw new Error(data.message || `HTTP ${response.status}`);
    show(data);
    refreshes += 1;
    document.body.dataset.refreshes = String(refreshes);
    document.body.dataset.asOf = data.as_of;
    status.className = "";
    status.textContent = `as of ${data.as_of} (hub clock), refreshed every ${REFRESH_MS / 1000} s`;
  } catch (error) {
    status.className = "failed";
    status.textContent = `could not refresh: ${error.message}; retrying`;
    console.error("dashboard refresh failed", error);
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

refresh();
