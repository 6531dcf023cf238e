// The collectors' board: renders each snapshot the server pushes over server-sent events (/events).
// Text goes in with textContent only: operator and task names come from recordings.
"use strict";

const OUTCOMES = [["success", "#46d160"], ["failure", "#ff5a52"], ["aborted", "#ffa94d"], ["discarded", "#8b949e"]];
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

const number = (n) => Number(n || 0).toLocaleString("en-US");

function duration(seconds) {
  if ((seconds || 0) < 60) return `${Math.round(seconds || 0)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")}`;
}

const size = (gb) => (gb || 0) >= 1 ? `${gb.toFixed(1)} GB` : `${Math.round(1000 * (gb || 0))} MB`;

function renderHeader(s) {
  const t = s.totals || {};
  $("day").textContent = `${s.today} (UTC)`;
  $("kpi-episodes").textContent = number(t.episodes_today);
  $("kpi-success").textContent = number(t.success_today);
  $("kpi-rate").textContent = t.episodes_today ? `${Math.round(100 * t.success_today / t.episodes_today)} %` : "–";
  $("kpi-hours").textContent = duration(3600 * (t.hours_today || 0));
  $("kpi-all").textContent = `${number(t.episodes_all)} ep · ${duration(3600 * (t.hours_all || 0))} · ${size(t.gb_all)}`;
}

function renderCollectors(collectors) {
  const body = $("collectors").querySelector("tbody");
  const rows = collectors.map((c) => {
    const tr = el("tr", { "data-operator": c.operator });
    tr.append(
      el("td", { class: "name", "data-field": "operator" }, c.operator || "(unnamed)"),
      el("td", { class: "robot", "data-field": "current_robot" }, c.current_robot),
      el("td", { class: "num", "data-field": "episodes" }, c.episodes),
      el("td", { class: "num ok", "data-field": "success" }, c.success),
      el("td", { class: "num bad", "data-field": "failure" }, c.failure),
      el("td", { class: "num warn", "data-field": "aborted" }, c.aborted),
      el("td", { class: "num", "data-field": "time_on_task", "data-seconds": Math.round(c.time_on_task_s) },
         duration(c.time_on_task_s)),
    );
    return tr;
  });
  body.replaceChildren(...rows);
  $("collectors-empty").hidden = collectors.length > 0;
}

function renderSkills(skills) {
  const rows = skills.map((s) => {
    const row = el("div", { class: "skill" + (s.success >= s.target ? " done" : ""), "data-skill": s.skill,
                            "data-success": s.success, "data-target": s.target, title: s.task || "" });
    const bar = el("div", { class: "bar" });
    const fill = el("div", { class: "fill" });
    fill.style.width = `${Math.min(100, 100 * s.progress).toFixed(1)}%`;
    bar.append(fill);
    row.append(el("div", { class: "name" }, s.skill || "(no skill)"), bar,
               el("div", { class: "count" }, `${number(s.success)} / ${number(s.target)}`));
    return row;
  });
  $("skills").replaceChildren(...rows);
}

let chart = null;
function renderHourly(hourly) {
  const labels = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
  const datasets = OUTCOMES.map(([outcome, colour]) => {
    const data = new Array(24).fill(0);
    for (const r of hourly) if (r.outcome === outcome) data[r.hour] = r.n;
    return { label: outcome, data, backgroundColor: colour, stack: "episodes" };
  });
  if (typeof Chart === "undefined") return;  // the page still shows every number without the chart
  if (!chart) {
    Chart.defaults.color = "#d0d7e0";
    Chart.defaults.font.size = 18;
    chart = new Chart($("hourly"), {
      type: "bar", data: { labels, datasets },
      options: { animation: false, maintainAspectRatio: false, responsive: true,
                 plugins: { legend: { position: "top", labels: { boxWidth: 22 } } },
                 scales: { x: { stacked: true, grid: { color: "#2b323c" } },
                           y: { stacked: true, beginAtZero: true, grid: { color: "#2b323c" }, ticks: { precision: 0 } } } },
    });
  } else {
    chart.data.datasets.forEach((d, i) => { d.data = datasets[i].data; });
    chart.update("none");
  }
}

function renderRobots(s) {
  const tiles = s.robots.map((r) => {
    const state = r.state || "unknown";
    const tile = el("div", { class: `tile state-${state}`, "data-robot": r.robot_id, "data-state": state });
    const facts = el("div", { class: "facts" });
    const faults = Object.entries(r.faults || {}).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ");
    const lines = [
      r.up === false ? "no metrics" : `faults ${r.faults_total || 0}${faults ? ` (${faults})` : ""}`,
      r.max_temperature !== null && r.max_temperature !== undefined ? `${r.max_temperature.toFixed(1)} °C ${r.hottest_joint}` : null,
      `${r.episodes_today || 0} episodes today${r.operator ? ` · ${r.operator}` : ""}`,
    ];
    for (const line of lines) if (line) facts.append(el("div", {}, line));
    const head = el("div", { class: "head" });
    head.append(el("span", { class: "id" }, r.robot_id), el("span", { class: "state" }, state === "unknown" ? "—" : state));
    tile.append(head, facts);
    return tile;
  });
  $("robots").replaceChildren(...tiles);
  $("metrics-source").textContent = `· ${s.metrics_source}`;
  $("metrics-errors").replaceChildren(...(s.metrics_errors || []).map((e) => el("div", {}, `unreachable: ${e}`)));
}

function render(s) {
  renderHeader(s);
  renderCollectors(s.collectors || []);
  renderSkills(s.skills || []);
  renderHourly(s.hourly || []);
  renderRobots(s);
  document.body.dataset.generation = s.generation;
  document.body.dataset.updated = new Date().toISOString();
  $("live-text").textContent = `live · ${new Date().toLocaleTimeString("en-GB")}`;
}

function connect() {
  const source = new EventSource("/events");
  source.onopen = () => { $("live-dot").classList.add("live"); };
  source.onmessage = (event) => { render(JSON.parse(event.data)); };
  source.onerror = () => {  // EventSource reconnects by itself; the dot says the screen may be stale
    $("live-dot").classList.remove("live");
    $("live-text").textContent = "reconnecting";
  };
}

// Page through lists taller than their panel: one screenful every PAGE_MS, then back to the top.
const PAGE_MS = 8000;
setInterval(() => {
  for (const box of document.querySelectorAll(".scroll")) {
    if (box.scrollHeight <= box.clientHeight + 2) continue;
    const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 2;
    box.scrollTop = atEnd ? 0 : box.scrollTop + box.clientHeight - 40;
  }
}, PAGE_MS);

connect();
