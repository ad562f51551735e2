// A simulation's segments: each slice of simulated time with how many of its records were
// queued, created and settled (GET /api/simulations/{id}/segments), a page at a time.
"use strict";

const SEGMENT_PAGE = 250;
const segmentsView = { sim: null, offset: 0, total: 0 };

async function pollSegments(id) {
  if (segmentsView.sim !== id) {
    segmentsView.sim = id;
    segmentsView.offset = 0;
  }
  const query = `offset=${segmentsView.offset}&limit=${SEGMENT_PAGE}`;
  const data = await api("GET", `/api/simulations/${id}/segments?${query}`);
  if (!state.selected || state.selected.id !== id) return;
  renderSegments(data);
}

function segmentTime(startMs, endMs) {
  const start = new Date(startMs).toISOString();
  const end = new Date(endMs).toISOString();
  const to = start.slice(0, 10) === end.slice(0, 10) ? end.slice(11, 16) : end.slice(0, 16).replace("T", " ");
  return `${start.slice(0, 16).replace("T", " ")} → ${to}`;
}

function segmentBar(segment) {
  const bar = el("div", { class: "bar" });
  const base = Math.max(segment.records, 1);
  const created = segment.created || 0;
  const other = Math.max(0, (segment.settled || 0) - created);
  for (const [part, count] of [["created", created], ["dead", other]]) {
    const piece = el("div", { class: `seg ${part}`, title: `${part === "dead" ? "settled otherwise" : part}: ${count}` });
    piece.style.width = `${(Math.min(count, base) / base) * 100}%`;
    bar.append(piece);
  }
  return bar;
}

function renderSegments(data) {
  segmentsView.total = data.total;
  const known = data.source !== "redis-disabled";
  const minutes = data.segmentMs / 60000;
  const length = minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
  const next = known ? ` · expanded up to #${data.next}` : " · Redis is down: counts unknown";
  $("segments-note").textContent = `${fmt(data.total)} of ${length}${next}`;
  const last = Math.min(segmentsView.offset + SEGMENT_PAGE, data.total);
  $("segments-range").textContent = data.total ? `${segmentsView.offset + 1}–${last} of ${data.total}` : "";
  $("segments-prev").disabled = segmentsView.offset === 0;
  $("segments-next").disabled = last >= data.total;
  const all = $("segments-all").checked;
  const shown = data.segments.filter((segment) => all || segment.records > 0);
  const count = (n) => (known ? fmt(n) : "–");
  $("segments-rows").replaceChildren(
    ...shown.map((segment) =>
      el(
        "tr",
        { "data-segment": String(segment.number), class: segment.done ? "done" : "" },
        el("td", { text: `#${segment.number}` }),
        el("td", { text: segmentTime(segment.startMs, segment.endMs) }),
        el("td", { class: "num records", text: fmt(segment.records) }),
        el("td", { class: "num scheduled", text: count(segment.scheduled) }),
        el("td", { class: "num created", text: count(segment.created) }),
        el("td", { class: "num settled", text: count(segment.settled) }),
        el("td", { class: "bar-cell" }, segmentBar(segment)),
      ),
    ),
  );
  $("segments-empty").hidden = shown.length > 0;
}

function pageSegments(step) {
  const offset = segmentsView.offset + step * SEGMENT_PAGE;
  if (offset < 0 || offset >= segmentsView.total || !state.selected) return;
  segmentsView.offset = offset;
  pollSegments(state.selected.id).catch((error) => {
    $("action-error").textContent = error.message;
  });
}

function installSegments() {
  $("segments-prev").addEventListener("click", () => pageSegments(-1));
  $("segments-next").addEventListener("click", () => pageSegments(1));
  $("segments-all").addEventListener("change", () => pageSegments(0));
}
