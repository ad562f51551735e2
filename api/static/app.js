// SimCRM dashboard: plain JavaScript over the JSON API (no build step, no dependencies).
"use strict";

const KEY_STORAGE = "simcrm.apiKey";
const POLL_MS = 1000;
const SLOW_POLL_MS = 3000;
const LIST_POLL_MS = 5000;
const ACTIVE = new Set(["running", "paused"]);
const ACTIONS = {
  start: ["draft"],
  pause: ["running"],
  resume: ["paused"],
  cancel: ["draft", "running", "paused"],
};

const state = {
  key: null,
  me: null,
  catalog: null,
  sims: [],
  selected: null,
  plan: null,
  metrics: null,
  lastSlow: 0,
  timer: null,
  listTimer: null,
  previewTimer: null,
};

const $ = (id) => document.getElementById(id);
const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// ---------------------------------------------------------------------------------- sign in

async function signIn(key) {
  state.key = key;
  state.me = await api("GET", "/api/me");
  sessionStorage.setItem(KEY_STORAGE, key);
  state.catalog = await api("GET", "/api/catalog");
  $("who-email").textContent = state.me.email;
  $("who-role").textContent = state.me.role;
  $("who").hidden = false;
  $("signin").hidden = true;
  $("app").hidden = false;
  fillForm();
  await loadList();
  state.listTimer = setInterval(() => loadList().catch(() => {}), LIST_POLL_MS);
}

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  location.reload();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  try {
    await signIn($("api-key").value.trim());
  } catch (error) {
    state.key = null;
    $("signin-error").textContent =
      error.status === 401 ? "That API key is not valid." : `Could not sign in: ${error.message}`;
  }
});
$("sign-out").addEventListener("click", signOut);

// ---------------------------------------------------------------------------------- list

async function loadList() {
  const data = await api("GET", "/api/simulations?limit=100");
  state.sims = data.simulations;
  renderList();
}

function renderList() {
  const list = $("sim-list");
  list.replaceChildren();
  $("sim-empty").hidden = state.sims.length > 0;
  for (const sim of state.sims) {
    const item = el(
      "li",
      { "data-id": String(sim.id) },
      el(
        "div",
        { class: "row" },
        el("span", { class: "name", text: `#${sim.id} ${sim.name}` }),
        el("span", { class: `status ${sim.status}`, text: sim.status }),
      ),
      el("div", { class: "muted", text: `${fmt(sim.total_records)} records · ${sim.scenario}` }),
    );
    if (state.selected && state.selected.id === sim.id) item.classList.add("active");
    item.addEventListener("click", () => select(sim.id));
    list.append(item);
  }
}

// ---------------------------------------------------------------------------------- create

function isoDay(date) {
  return date.toISOString().slice(0, 16);
}

function fillForm() {
  const options = (select, values) =>
    select.replaceChildren(...values.map((value) => el("option", { value, text: value })));
  options($("f-scenario"), state.catalog.scenarios);
  options($("f-distribution"), state.catalog.distributions);
  options($("f-target"), state.catalog.targets);
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  $("f-end").value = isoDay(today);
  $("f-start").value = isoDay(new Date(today.getTime() - 7 * 86400000));
  for (const id of ["f-scenario", "f-distribution", "f-records", "f-start", "f-end", "f-backfill"]) {
    $(id).addEventListener("input", schedulePreview);
    $(id).addEventListener("change", schedulePreview);
  }
}

function formBody() {
  return {
    name: $("f-name").value.trim() || "simulation",
    scenario: $("f-scenario").value,
    distribution_method: $("f-distribution").value,
    total_records: Number($("f-records").value),
    start_time: `${$("f-start").value}:00Z`,
    end_time: `${$("f-end").value}:00Z`,
    time_scale: Number($("f-time-scale").value) || 1,
    backfill: $("f-backfill").checked,
    target: $("f-target").value,
  };
}

function showCreate() {
  stopPolling();
  state.selected = null;
  renderList();
  $("hello").hidden = true;
  $("detail").hidden = true;
  $("create-panel").hidden = false;
  $("create-error").textContent = "";
  schedulePreview();
}

function schedulePreview() {
  clearTimeout(state.previewTimer);
  state.previewTimer = setTimeout(preview, 350);
}

async function preview() {
  try {
    const data = await api("POST", "/api/simulations/preview", formBody());
    $("preview-note").textContent = `${fmt(data.records)} records, ${data.firstArrival.slice(0, 16)} → ${data.lastArrival.slice(0, 16)}`;
    drawCurve($("preview-chart"), data.curve, null, null);
  } catch (error) {
    $("preview-note").textContent = error.message;
    $("preview-chart").replaceChildren();
  }
}

$("new-sim").addEventListener("click", showCreate);
$("create-cancel").addEventListener("click", () => {
  $("create-panel").hidden = true;
  $("hello").hidden = false;
});
$("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("create-error").textContent = "";
  try {
    const sim = await api("POST", "/api/simulations", formBody());
    await loadList();
    await select(sim.id);
  } catch (error) {
    $("create-error").textContent = error.message;
  }
});

// ---------------------------------------------------------------------------------- detail

async function select(id) {
  stopPolling();
  $("create-panel").hidden = true;
  $("hello").hidden = true;
  $("detail").hidden = false;
  $("action-error").textContent = "";
  state.plan = null;
  state.metrics = null;
  state.lastSlow = 0;
  state.selected = await api("GET", `/api/simulations/${id}`);
  renderList();
  renderHead();
  $("boss-panels").hidden = state.me.role !== "boss";
  if (state.me.role === "boss") renderReplayCategories();
  state.plan = await api("GET", `/api/simulations/${id}/plan`);
  await poll();
}

function stopPolling() {
  clearTimeout(state.timer);
  state.timer = null;
}

async function poll() {
  const sim = state.selected;
  if (!sim) return;
  try {
    const [fresh, metrics] = await Promise.all([
      api("GET", `/api/simulations/${sim.id}`),
      api("GET", `/api/simulations/${sim.id}/metrics`),
    ]);
    if (!state.selected || state.selected.id !== sim.id) return;
    const listed = state.sims.find((item) => item.id === fresh.id);
    if (listed && listed.status !== fresh.status) {
      listed.status = fresh.status;
      renderList();
    }
    if (fresh.status !== state.selected.status) state.lastSlow = 0; // a final look at the panels
    state.selected = fresh;
    state.metrics = metrics;
    renderHead();
    renderProgress();
    if (Date.now() - state.lastSlow >= SLOW_POLL_MS) {
      state.lastSlow = Date.now();
      await pollSlow(sim.id);
    }
  } catch (error) {
    $("action-error").textContent = error.message;
  }
  const again = ACTIVE.has(state.selected.status) ? POLL_MS : SLOW_POLL_MS * 2;
  state.timer = setTimeout(poll, again);
}

async function pollSlow(id) {
  const limits = await api("GET", `/api/simulations/${id}/limits`);
  const breaker = limits.state ? limits.state.breaker.state : limits.source === "redis-disabled" ? "unknown" : "–";
  const tile = $("t-breaker");
  tile.textContent = breaker.replaceAll("_", "-");
  tile.className = `value ${breaker}`;
  if (state.me.role !== "boss") return;
  const [dlq, thinning] = await Promise.all([
    api("GET", `/api/simulations/${id}/dlq`),
    api("GET", `/api/simulations/${id}/thinning-events?limit=20`),
  ]);
  renderDeadLetters(dlq);
  renderThinning(thinning);
}

function renderHead() {
  const sim = state.selected;
  $("d-title").textContent = `#${sim.id} ${sim.name}`;
  $("d-sub").textContent = `${sim.scenario} · ${sim.distribution_method} · ${fmt(sim.total_records)} records · ${sim.start_time.slice(0, 10)} → ${sim.end_time.slice(0, 10)} · ${sim.backfill ? "backfill" : `×${sim.time_scale}`} · ${sim.target}`;
  const status = $("d-status");
  status.textContent = sim.status;
  status.className = `status ${sim.status}`;
  for (const [action, from] of Object.entries(ACTIONS)) {
    $(`action-${action}`).disabled = !from.includes(sim.status);
  }
}

function typeProgress(counts, planned) {
  const rows = [];
  for (const [type, plannedCount] of Object.entries(planned)) {
    const c = counts[type] || {};
    rows.push({
      type,
      planned: plannedCount,
      created: (c.created || 0) + (c.updated || 0),
      dead: c.dead || 0,
      thinned: c.thinned || 0,
    });
  }
  return rows;
}

function renderProgress() {
  const sim = state.selected;
  const metrics = state.metrics;
  const plan = state.plan;
  if (!metrics || !plan) return;
  const totals = metrics.totals;
  const plannedAll = Object.values(plan.planned).reduce((a, b) => a + b, 0);
  let fraction = plannedAll ? (totals.settled + totals.thinned) / plannedAll : 0;
  fraction = sim.status === "completed" ? 1 : Math.min(fraction, 0.999);
  const percent = fraction === 1 ? "100 %" : `${(fraction * 100).toFixed(1)} %`;
  $("progress-percent").textContent = percent;
  const fill = $("overall-fill");
  fill.style.width = `${fraction * 100}%`;
  fill.classList.toggle("done", fraction === 1);

  const contacts = (metrics.counts.contact || {}).created || 0;
  $("t-records").textContent = `${fmt(contacts)} / ${fmt(sim.total_records)}`;
  $("t-jobs").textContent = `${fmt(totals.settled)} / ${fmt(totals.scheduled)}`;
  $("t-429").textContent = fmt(totals.rateLimited);
  $("t-dead").textContent = fmt(totals.dead);
  $("t-thinned").textContent = fmt(totals.thinned);
  $("d-source").textContent = `counts from ${metrics.source === "redis" ? "Redis (live)" : "the database (durable counters)"}`;

  const bars = $("type-bars");
  bars.replaceChildren();
  for (const row of typeProgress(metrics.counts, plan.planned)) {
    if (!row.planned && !row.created) continue;
    const base = Math.max(row.planned, row.created + row.dead + row.thinned, 1);
    const bar = el("div", { class: "bar" });
    for (const part of ["created", "dead", "thinned"]) {
      const seg = el("div", { class: `seg ${part}`, title: `${part}: ${row[part]}` });
      seg.style.width = `${(row[part] / base) * 100}%`;
      bar.append(seg);
    }
    bars.append(
      el(
        "div",
        { class: "type-row", "data-type": row.type },
        el("span", { text: row.type.replaceAll("_", " ") }),
        bar,
        el("span", { class: "count", text: `${fmt(row.created)} / ${fmt(row.planned)}` }),
      ),
    );
  }
  const actual = plan.curve.map((b) => Math.max(0, Math.min(b.planned, contacts - b.first)));
  const now = metrics.clock ? metrics.clock.simulatedNowMs : null;
  drawCurve($("curve-chart"), plan.curve, actual, now);
}

// ---------------------------------------------------------------------------------- chart

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

function drawCurve(container, buckets, actual, nowMs) {
  const width = 600;
  const height = 180;
  const pad = { left: 8, right: 8, top: 10, bottom: 22 };
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none" });
  if (!buckets.length) {
    container.replaceChildren(root);
    return;
  }
  const start = buckets[0].startMs;
  const end = buckets[buckets.length - 1].endMs;
  const peak = Math.max(1, ...buckets.map((b) => b.planned));
  const x = (ms) => pad.left + ((ms - start) / (end - start)) * (width - pad.left - pad.right);
  const y = (n) => height - pad.bottom - (n / peak) * (height - pad.top - pad.bottom);
  for (const b of buckets) {
    const left = x(b.startMs);
    const w = Math.max(0.5, x(b.endMs) - left - 0.4);
    root.append(svg("rect", { x: left, y: y(b.planned), width: w, height: y(0) - y(b.planned), fill: "#c9d6f5" }));
  }
  if (actual) {
    let path = "";
    buckets.forEach((b, i) => {
      const mid = (x(b.startMs) + x(b.endMs)) / 2;
      path += `${i ? "L" : "M"}${mid.toFixed(1)},${y(actual[i]).toFixed(1)} `;
    });
    root.append(svg("path", { d: path, fill: "none", stroke: "#ff7a59", "stroke-width": 2, "vector-effect": "non-scaling-stroke" }));
  }
  if (nowMs !== null && nowMs >= start && nowMs <= end) {
    root.append(svg("line", { x1: x(nowMs), x2: x(nowMs), y1: pad.top, y2: y(0), stroke: "#1d2433", "stroke-width": 1, "vector-effect": "non-scaling-stroke" }));
  }
  root.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), stroke: "#c7cedb" }));
  const label = (ms, anchor, at) => {
    const text = svg("text", { x: at, y: height - 6, "font-size": 11, fill: "#6b7487", "text-anchor": anchor });
    text.textContent = new Date(ms).toISOString().slice(0, 16).replace("T", " ");
    root.append(text);
  };
  label(start, "start", pad.left);
  label(end, "end", width - pad.right);
  container.replaceChildren(root);
}

// ---------------------------------------------------------------------------------- boss panels

function renderReplayCategories() {
  const box = $("replay-categories");
  box.replaceChildren(
    ...state.catalog.categories.map((category) =>
      el("label", { class: "chip" }, el("input", { type: "checkbox", value: category }), category),
    ),
  );
}

function renderDeadLetters(dlq) {
  const counts = $("dlq-counts");
  counts.replaceChildren();
  if (dlq.source === "redis-disabled") counts.append(el("span", { class: "chip", text: "Redis is down" }));
  else if (!dlq.total) counts.append(el("span", { class: "chip", text: "none" }));
  for (const [category, count] of Object.entries(dlq.counts)) {
    counts.append(el("span", { class: "chip", text: `${category}: ${fmt(count)}` }));
  }
  const rows = $("dlq-samples");
  rows.replaceChildren(
    ...dlq.samples.slice(0, 10).map((sample) =>
      el(
        "tr",
        {},
        el("td", { text: `${sample.type} ${sample.id}` }),
        el("td", { text: sample.category }),
        el("td", { text: sample.error }),
      ),
    ),
  );
}

function renderThinning(data) {
  const rows = $("thinning");
  rows.replaceChildren(
    ...data.events.map((event) =>
      el(
        "tr",
        {},
        el("td", { text: new Date(event.at).toISOString().slice(11, 19) }),
        el("td", { text: `${event.after} of ${event.before}` }),
        el("td", { text: event.factor.toFixed(2) }),
        el("td", { text: fmt(event.totalWaiting) }),
        el("td", { text: event.reason }),
      ),
    ),
  );
  $("thinning-empty").hidden = data.events.length > 0;
}

async function replay(dryRun) {
  const sim = state.selected;
  const categories = [...document.querySelectorAll("#replay-categories input:checked")].map((i) => i.value);
  const body = { dryRun, useFullRetry: $("replay-full").checked, limit: Number($("replay-limit").value) || 1 };
  if (categories.length) body.categories = categories;
  const out = $("replay-result");
  try {
    const result = await api("POST", `/api/simulations/${sim.id}/dlq/replay`, body);
    const picked = Object.entries(result.selected).map(([c, n]) => `${c} ${n}`).join(", ") || "nothing";
    out.textContent = dryRun
      ? `Dry run: ${fmt(result.selectedTotal)} selected (${picked}); a replay moves at most ${result.limit}.`
      : `Replayed ${fmt(result.replayed)} of ${fmt(result.selectedTotal)} (limit ${result.limit}).`;
    await pollSlow(sim.id);
  } catch (error) {
    const wait = error.body && error.body.error && error.body.error.details && error.body.error.details.retryAfterMs;
    out.textContent = wait ? `${error.message}` : `Replay failed: ${error.message}`;
  }
}

$("replay-dry").addEventListener("click", () => replay(true));
$("replay-run").addEventListener("click", () => replay(false));

// ---------------------------------------------------------------------------------- actions

for (const action of Object.keys(ACTIONS)) {
  $(`action-${action}`).addEventListener("click", async () => {
    $("action-error").textContent = "";
    try {
      state.selected = await api("POST", `/api/simulations/${state.selected.id}/${action}`);
      renderHead();
      await loadList();
      stopPolling();
      await poll();
    } catch (error) {
      $("action-error").textContent = error.message;
    }
  });
}

// ---------------------------------------------------------------------------------- start

localStorage.removeItem(KEY_STORAGE); // where earlier versions kept the key for good
const saved = sessionStorage.getItem(KEY_STORAGE);
if (saved) {
  signIn(saved).catch(() => {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
  });
}
