// Boss views over dead letters and the rate limiter: the summary across simulations (each row
// leads to that simulation's dead letters), a purge that is always a dry run first, and the
// reset of a simulation's HubSpot account limiter. Each change goes through a confirm dialog.
"use strict";

const purgePlan = { sim: null, categories: "", total: 0 };
const limiterView = { portal: null };

function categoryText(counts) {
  return Object.entries(counts).map(([category, n]) => `${category} ${fmt(n)}`).join(" · ");
}

async function showDeadLetterSummary() {
  showOperatorView("dlq-summary-panel");
  const data = await api("GET", "/api/dlq/summary");
  const totals = $("dlq-summary-totals");
  totals.replaceChildren(el("span", { class: "chip", text: `total: ${fmt(data.total)}` }));
  if (data.source === "redis-disabled") totals.append(el("span", { class: "chip", text: "Redis is down" }));
  for (const [category, n] of Object.entries(data.byCategory)) {
    totals.append(el("span", { class: "chip", text: `${category}: ${fmt(n)}` }));
  }
  const ids = Object.keys(data.simulations).sort((a, b) => Number(b) - Number(a));
  $("dlq-summary-rows").replaceChildren(...ids.map((id) => summaryRow(id, data)));
  $("dlq-summary-empty").hidden = ids.length > 0;
}

function summaryRow(id, data) {
  const counts = data.simulations[id];
  const sim = state.sims.find((item) => String(item.id) === id);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const link = el("a", { class: "dlq-link", href: `#simulation-${id}-dlq`, "data-api": data.links[id] || "", text: "Open dead letters" });
  link.addEventListener("click", (event) => {
    event.preventDefault();
    openDeadLetters(Number(id)).catch((error) => {
      $("action-error").textContent = error.message;
    });
  });
  return el(
    "tr",
    { "data-sim": id },
    el("td", { text: sim ? `#${id} ${sim.name}` : `#${id}` }),
    el("td", { class: "num", text: fmt(total) }),
    el("td", { text: categoryText(counts) }),
    el("td", {}, link),
  );
}

async function openDeadLetters(id) {
  hideOperatorViews();
  await select(id);
  $("dlq-card").scrollIntoView({ block: "start" });
}

function chosenCategories() {
  return [...document.querySelectorAll("#replay-categories input:checked")].map((input) => input.value).join(",");
}

function purgePath(id, dryRun, categories) {
  const query = [`dryRun=${dryRun}`];
  if (categories) query.push(`categories=${encodeURIComponent(categories)}`);
  return `/api/simulations/${id}/dlq?${query.join("&")}`;
}

async function purgeDryRun() {
  const sim = state.selected;
  const out = $("purge-result");
  $("purge-run").hidden = true;
  const categories = chosenCategories();
  try {
    const result = await api("DELETE", purgePath(sim.id, true, categories));
    Object.assign(purgePlan, { sim: sim.id, categories, total: result.selectedTotal });
    const picked = categoryText(result.selected) || "nothing";
    out.textContent = `Dry run: ${fmt(result.selectedTotal)} dead letters would be purged (${picked}).`;
    if (result.selectedTotal > 0) {
      $("purge-run").textContent = `Purge ${fmt(result.selectedTotal)}…`;
      $("purge-run").hidden = false;
    }
  } catch (error) {
    out.textContent = `Dry run failed: ${error.message}`;
  }
}

async function purgeForReal() {
  const sim = state.selected;
  const out = $("purge-result");
  if (!sim || purgePlan.sim !== sim.id || purgePlan.categories !== chosenCategories()) {
    $("purge-run").hidden = true;
    out.textContent = "The selection changed: run the dry run again first.";
    return;
  }
  const which = purgePlan.categories ? ` (${purgePlan.categories.replaceAll(",", ", ")})` : "";
  const sure = await confirmAction(
    `Delete ${fmt(purgePlan.total)} dead letters${which} of simulation #${sim.id} for good? Purged dead letters cannot be replayed.`,
    "Purge",
  );
  if (!sure) {
    out.textContent = "Purge cancelled: nothing was deleted.";
    return;
  }
  try {
    const result = await api("DELETE", purgePath(sim.id, false, purgePlan.categories));
    $("purge-run").hidden = true;
    out.textContent = `Purged ${fmt(result.purged)} dead letters.`;
    await pollSlow(sim.id);
  } catch (error) {
    out.textContent = `Purge failed: ${error.message}`;
  }
}

function renderLimiter(limits) {
  limiterView.portal = limits.portal;
  $("limits-reset").disabled = !limits.portal;
  const line = $("limiter-state");
  if (!limits.portal) {
    line.textContent = "No HubSpot account known for this simulation yet.";
    return;
  }
  if (!limits.state) {
    line.textContent = `HubSpot account ${limits.portal} · state unknown (Redis is down)`;
    return;
  }
  const s = limits.state;
  const until = s.cooldown.untilMs;
  const cooldown = until ? `cooldown until ${new Date(until).toISOString().slice(11, 19)} UTC` : "no cooldown";
  const shared = s.window.senders > 1 ? `, shared by ${s.window.senders} simulations (${fmt(s.window.share)} each while all want more)` : "";
  const burst = `${fmt(s.window.used)} of ${fmt(s.window.limit)} requests in the burst window${shared} (margin ${s.window.marginMs} ms)`;
  line.textContent = `HubSpot account ${limits.portal} · breaker ${s.breaker.state.replaceAll("_", "-")} · ${cooldown} · ${burst}`;
}

async function resetLimiter() {
  const portal = limiterView.portal;
  const out = $("limits-result");
  if (!portal) return;
  const sure = await confirmAction(
    `Reset the rate limiter of HubSpot account ${portal}? Its windows, buckets, daily count, cooldown and breaker start over, for every simulation on that account.`,
    "Reset limiter",
  );
  if (!sure) {
    out.textContent = "Reset cancelled.";
    return;
  }
  try {
    await api("POST", `/api/limits/${encodeURIComponent(portal)}/reset`);
    out.textContent = `The limiter of account ${portal} was reset.`;
    if (state.selected) await pollSlow(state.selected.id);
  } catch (error) {
    out.textContent = `Reset failed: ${error.message}`;
  }
}

function resetOperatorResults() {
  for (const id of ["purge-result", "limits-result"]) $(id).textContent = "";
  $("purge-run").hidden = true;
  purgePlan.sim = null;
}

function installDeadLetterViews() {
  const report = (error) => {
    $("action-error").textContent = error.message;
  };
  $("open-dlq-summary").addEventListener("click", () => showDeadLetterSummary().catch(report));
  $("dlq-summary-refresh").addEventListener("click", () => showDeadLetterSummary().catch(report));
  $("purge-dry").addEventListener("click", purgeDryRun);
  $("purge-run").addEventListener("click", purgeForReal);
  $("limits-reset").addEventListener("click", resetLimiter);
}
