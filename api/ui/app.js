// onesheet dashboard (issue 19).  No framework, nothing fetched from
// elsewhere.  Every prompt, title, error and name goes into the page as
// text (textContent), never as markup.
const BASE = document.documentElement.dataset.base || "";
const STATES = ["queued", "running", "succeeded", "failed", "filtered", "cancelled"];
const POLL_MS = 1500;
const main = document.getElementById("main");
const live = document.getElementById("live");
let timer = null;

// el("tag", {attr: v}, child...): children are nodes or text.
function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") n.textContent = v;
    else if (k === "style") n.style.cssText = v; // CSSOM: allowed by the CSP
    else if (k === "on") for (const [e, f] of Object.entries(v)) n.addEventListener(e, f);
    else n.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of kids) if (c !== null && c !== undefined)
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return n;
}
const svgEl = (tag, attrs) => {
  const n = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  return n;
};

function askKey() {
  const f = document.getElementById("keyform");
  f.hidden = false;
  const input = document.getElementById("key");
  input.focus();
  return new Promise((resolve) => {
    f.onsubmit = (e) => {
      e.preventDefault();
      sessionStorage.setItem("onesheet-key", input.value.trim());
      input.value = "";
      f.hidden = true;
      resolve();
    };
  });
}

async function api(path, opts = {}) {
  for (;;) {
    const headers = Object.assign({}, opts.headers || {});
    const key = sessionStorage.getItem("onesheet-key");
    if (key) headers["x-api-key"] = key;
    const r = await fetch(BASE + path, Object.assign({}, opts, { headers }));
    if (r.status === 401) { await askKey(); continue; }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      const e = new Error((body.error && body.error.message) || ("HTTP " + r.status));
      e.status = r.status;
      throw e;
    }
    return body;
  }
}
const post = (path, body) => api(path, { method: "POST",
  headers: { "content-type": "application/json" }, body: JSON.stringify(body || {}) });

function fmtAge(s) {
  if (s === null || s === undefined) return "—";
  if (s < 90) return Math.round(s) + " s";
  if (s < 5400) return Math.round(s / 60) + " min";
  if (s < 172800) return (s / 3600).toFixed(1) + " h";
  return Math.round(s / 86400) + " d";
}
const usd = (v) => (v === null || v === undefined) ? "—" : "$" + Number(v).toFixed(2);

function bar(by, total) {
  const b = el("div", { class: "bar", role: "img",
    "aria-label": STATES.map((s) => s + " " + (by[s] || 0)).join(", ") });
  for (const s of ["succeeded", "failed", "filtered", "cancelled", "running", "queued"]) {
    const n = by[s] || 0;
    if (n && total) b.append(el("span", { class: "s-" + s, style: `width:${100 * n / total}%` }));
  }
  return b;
}
function legend(by) {
  return el("div", { class: "legend" }, ...STATES.map((s) =>
    el("span", {}, el("i", { class: "s-" + s }), `${s} ${by[s] || 0}`)));
}
function badge(state) { return el("span", { class: "badge s-" + state, text: state }); }

function crumbs(...parts) {
  const c = document.getElementById("crumbs");
  c.replaceChildren(...parts.flatMap((p, i) => i ? [" / ", p] : [p]));
}
function link(path, text) {
  const a = el("a", { href: BASE + path, text });
  a.addEventListener("click", (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
    e.preventDefault();
    history.pushState(null, "", BASE + path);
    route();
  });
  return a;
}
function showError(e) {
  main.replaceChildren(el("p", { class: "error", role: "alert", text: "Error: " + e.message }));
}
function schedule(fn, ms) { clearTimeout(timer); timer = setTimeout(fn, ms); }

// ---- overview ----
function chart(perMin) {
  const max = Math.max(1, ...perMin);
  const s = svgEl("svg", { class: "chart", viewBox: "0 0 600 84", role: "img",
    "aria-label": `posters per minute, last hour; peak ${max}` });
  perMin.forEach((v, i) => {
    const h = Math.round(60 * v / max);
    s.append(svgEl("rect", { x: i * 10 + 1, y: 65 - h, width: 8, height: Math.max(h, v ? 1 : 0) }));
  });
  s.append(svgEl("line", { x1: 0, y1: 65.5, x2: 600, y2: 65.5, stroke: "#aab2bd" }));
  const label = (x, anchor, text) => {
    const t = svgEl("text", { x, y: 80, "text-anchor": anchor, class: "axis" });
    t.textContent = text;
    return t;
  };
  s.append(label(0, "start", "60 min ago"), label(600, "end", "now"));
  return s;
}

async function overview(offset) {
  crumbs(el("span", { text: "Batches" }));
  const d = await api(`/ui/api/overview?offset=${offset}&limit=20`);
  const w = d.workers;
  const workers = w && w.alive !== null && w.alive !== undefined
    ? `${w.alive} online` + (w.stale ? `, ${w.stale} stale` : "") : "no registry";
  const tbody = el("tbody");
  for (const b of d.batches) {
    tbody.append(el("tr", {},
      el("td", { class: "id" }, link(`/ui/batches/${encodeURIComponent(b.batch_id)}`, b.batch_id)),
      el("td", { class: "hide-narrow", text: b.source || "" }),
      el("td", { class: "hide-narrow", text: b.model || "—" }),
      el("td", {}, bar(b.by_state, b.total),
        el("small", { class: "muted", text: `${(b.by_state.succeeded || 0)} / ${b.total}` })),
      el("td", { text: b.eta_s === undefined ? "—" : b.eta_s === 0 ? "done" : fmtAge(b.eta_s) }),
      el("td", { class: "hide-narrow",
        text: b.spend_usd === undefined ? "—" : `${usd(b.spend_usd)} / ${usd(b.est_total_usd)}` }),
      el("td", { text: fmtAge(b.age_s) })));
  }
  const total = d.throughput_per_min.reduce((a, b) => a + b, 0);
  main.replaceChildren(
    el("h1", { text: "Batches" }),
    el("div", { class: "panel stats" },
      el("div", {}, "Workers", el("b", { text: workers })),
      el("div", {}, "Posters, last hour", el("b", { text: String(total) })),
      el("div", { style: "flex:1;min-width:240px" }, "Per minute", chart(d.throughput_per_min))),
    d.batches.length ? el("table", { class: "batches" },
      el("thead", {}, el("tr", {}, ...["Batch", "Source", "Model", "Progress", "ETA",
        "Spend / est.", "Age"].map((h, i) => el("th", { scope: "col", text: h,
        class: [1, 2, 5].includes(i) ? "hide-narrow" : null })))), tbody)
      : el("p", { class: "muted", text: "No batches yet: onesheet submit FILE" }),
    el("div", { class: "actions" },
      offset > 0 ? el("button", { on: { click: () => overview(Math.max(0, offset - 20)) } }, "Newer") : null,
      d.more ? el("button", { on: { click: () => overview(offset + 20) } }, "Older") : null));
  live.textContent = "updated " + new Date().toLocaleTimeString();
  schedule(() => overview(offset).catch(showError), 5000);
}

// ---- one batch, live ----
const view = { id: null, state: "all", limit: 200, cards: new Map(), grid: null };

function card(j) {
  const li = el("li", { class: "card", "data-job": j.job_id, "data-state": j.state });
  const thumb = el("div", { class: "thumb" });
  const a = link(`/ui/jobs/${encodeURIComponent(j.job_id)}`, "");
  a.setAttribute("aria-label", `${j.title || j.prompt || j.job_id} (${j.state})`);
  a.append(thumb, el("div", { class: "cap", text: j.title || j.prompt || j.job_id }));
  li.append(a, badge(j.state));
  update(li, j);
  return li;
}
function update(li, j) {
  li.dataset.state = j.state;
  li.querySelector(".badge").replaceWith(badge(j.state));
  const thumb = li.querySelector(".thumb");
  // A loaded thumbnail stays: the signed URL changes every poll.
  if (j.thumb_url && !thumb.querySelector("img")) {
    thumb.replaceChildren(el("img", { src: j.thumb_url, alt: "", loading: "lazy",
      width: 256, height: 384 }));
  } else if (!j.thumb_url && !thumb.querySelector("img")) {
    thumb.textContent = j.error ? (j.error.code || j.state) : j.state;
  }
}

async function batchTick() {
  const id = view.id;
  const q = `?state=${view.state}&limit=${view.limit}`;
  const d = await api(`/ui/api/batches/${encodeURIComponent(id)}${q}`);
  if (view.id !== id) return;
  const b = d.batch;
  document.getElementById("sum").replaceChildren(
    el("div", {}, "Source", el("b", { text: b.source || "—" })),
    el("div", {}, "Model", el("b", { text: b.model })),
    el("div", {}, "Done", el("b", { text: `${b.by_state.succeeded} / ${b.total}` })),
    el("div", {}, "ETA", el("b", { text: b.eta_s === 0 ? "done" : fmtAge(b.eta_s) })),
    el("div", {}, "Spend / est. total", el("b", { text: `${usd(b.spend_usd)} / ${usd(b.est_total_usd)}` })),
    el("div", {}, "Age", el("b", { text: fmtAge(b.age_s) })));
  document.getElementById("bar").replaceChildren(bar(b.by_state, b.total), legend(b.by_state));
  const seen = new Set();
  for (const j of d.jobs) {
    seen.add(j.job_id);
    const li = view.cards.get(j.job_id);
    if (li) update(li, j);
    else { const c = card(j); view.cards.set(j.job_id, c); view.grid.append(c); }
  }
  for (const [k, li] of view.cards) if (!seen.has(k)) { li.remove(); view.cards.delete(k); }
  const more = document.getElementById("more");
  more.hidden = d.matched <= d.jobs.length;
  more.textContent = `Show more (${d.jobs.length} of ${d.matched})`;
  const fl = document.getElementById("failures");
  fl.replaceChildren(...d.failures.map((f) => el("li", {}, el("code", { text: f.code }),
    ` ×${f.count} — `, el("span", { text: f.message }))));
  fl.parentElement.hidden = d.failures.length === 0;
  const open = b.by_state.queued + b.by_state.running;
  document.getElementById("cancel").disabled = open === 0;
  document.getElementById("retry").disabled =
    b.by_state.failed + b.by_state.filtered + b.by_state.cancelled === 0;
  // The server's clock (created_at + age_s), not the browser's, says how old the read is.
  const readAt = Date.parse(b.read_at), serverNow = Date.parse(b.created_at) + b.age_s * 1000;
  live.textContent = serverNow - readAt > 5000
    ? "the ledger is not answering; last read " + new Date(readAt).toLocaleTimeString()
    : (open ? "live · " : "finished · ") + new Date().toLocaleTimeString();
  schedule(() => batchTick().catch((e) => { live.textContent = "retrying: " + e.message;
    schedule(batchTick, POLL_MS * 2); }), POLL_MS);
}

async function batchPage(id) {
  Object.assign(view, { id, state: "all", limit: 200, cards: new Map() });
  crumbs(link("/ui/", "Batches"), el("span", { text: id }));
  view.grid = el("ul", { class: "grid", id: "grid", "aria-label": "Posters" });
  const filters = el("div", { class: "filters", role: "group", "aria-label": "Filter by state" },
    ...["all", ...STATES].map((s) => el("button", { "aria-pressed": s === "all" ? "true" : "false",
      "data-state": s, on: { click: (e) => {
        for (const b of filters.children) b.setAttribute("aria-pressed", "false");
        e.currentTarget.setAttribute("aria-pressed", "true");
        view.state = s; view.limit = 200;
        view.grid.replaceChildren(); view.cards.clear();
        batchTick().catch(showError);
      } } }, s)));
  const msg = el("p", { role: "status", class: "muted" });
  const act = async (fn, what) => {
    try { await fn(); msg.textContent = what; await batchTick(); } catch (e) { msg.textContent = "Failed: " + e.message; }
  };
  main.replaceChildren(
    el("h1", { text: "Batch " + id }),
    el("div", { class: "panel" }, el("div", { class: "stats", id: "sum" }), el("div", { id: "bar" }),
      el("div", { class: "actions" },
        el("button", { id: "cancel", class: "danger", on: { click: () => {
          if (confirm("Cancel every queued and running job of this batch?"))
            act(() => post(`/ui/api/batches/${encodeURIComponent(id)}/cancel`), "Cancelled.");
        } } }, "Cancel batch"),
        el("button", { id: "retry", on: { click: () =>
          act(() => post(`/batches/${encodeURIComponent(id)}/retry`), "Retry requested.") } },
          "Retry failed")),
      msg),
    el("section", { hidden: true }, el("h2", { text: "Failures" }), el("ul", { class: "fail", id: "failures" })),
    filters, view.grid,
    el("div", { class: "actions" }, el("button", { id: "more", hidden: true, on: { click: () => {
      view.limit += 200; batchTick().catch(showError); } } }, "Show more")));
  await batchTick();
}

// ---- one job ----
async function jobPage(id) {
  const [j, links] = await Promise.all([api(`/jobs/${encodeURIComponent(id)}`),
    api(`/ui/api/jobs/${encodeURIComponent(id)}`).catch(() => ({}))]);
  crumbs(link("/ui/", "Batches"), link(`/ui/batches/${encodeURIComponent(j.batch_id)}`, j.batch_id),
    el("span", { text: j.job_id }));
  const spec = j.spec || {};
  const kv = el("dl", { class: "kv" });
  const row = (k, v) => { if (v !== undefined && v !== null && v !== "") kv.append(el("dt", { text: k }), el("dd", {}, v)); };
  row("State", badge(j.state));
  row("Title", spec.title);
  row("Prompt", spec.prompt);
  row("Model", j.model || spec.model);
  row("Seed", j.seed);
  row("Attempts", j.attempts);
  row("Created", j.created_at); row("Finished", j.finished_at);
  if (j.error) row("Error", `${j.error.code || ""}: ${j.error.message || ""}`);
  if (j.review) row("Review", `${j.review.state} by ${j.review.by} at ${j.review.at}`);
  if (j.variant) row("Variant", `${j.variant.index + 1} of ${j.variant.count}`);
  if (j.promoted_from) row("Promoted from", link(`/ui/jobs/${encodeURIComponent(j.promoted_from)}`, j.promoted_from));
  const urls = el("ul");
  const addUrl = (name, u) => { if (u) urls.append(el("li", {}, el("a", { href: u, text: name }))); };
  addUrl("poster", links.poster_url || j.url);
  addUrl("raw art", links.raw_url);
  addUrl("thumbnail", links.thumb_url);
  for (const r of j.renditions || []) addUrl(`rendition ${r.ratio}`, r.url);
  const runs = j.runs || [{ run: j.run || 1, state: j.state, claims: j.attempts, error: j.error }];
  const msg = el("p", { role: "status", class: "muted" });
  const act = async (fn, what) => {
    try { await fn(); msg.textContent = what; setTimeout(() => jobPage(id).catch(showError), 300); }
    catch (e) { msg.textContent = "Failed: " + e.message; }
  };
  const terminal = ["succeeded", "failed", "filtered", "cancelled"].includes(j.state);
  const poster = links.poster_url || j.url;
  main.replaceChildren(
    el("h1", { text: spec.title || j.job_id }),
    el("div", { class: "job" },
      el("div", {}, poster && j.state === "succeeded"
        ? el("img", { class: "poster", src: poster, alt: "Poster: " + (spec.title || spec.prompt || j.job_id) })
        : el("div", { class: "thumb", text: j.state })),
      el("div", {},
        el("div", { class: "actions" },
          !terminal ? el("button", { class: "danger", on: { click: () =>
            act(() => api(`/jobs/${encodeURIComponent(id)}`, { method: "DELETE" }), "Cancelled.") } }, "Cancel") : null,
          terminal && j.state !== "succeeded" ? el("button", { on: { click: () =>
            act(() => post(`/jobs/${encodeURIComponent(id)}/retry`), "Retry requested.") } }, "Retry") : null,
          j.state === "succeeded" ? el("button", { on: { click: () =>
            act(() => post(`/jobs/${encodeURIComponent(id)}/approve`), "Approved.") } }, "Approve") : null,
          j.state === "succeeded" ? el("button", { on: { click: () =>
            act(() => post(`/jobs/${encodeURIComponent(id)}/reject`), "Rejected.") } }, "Reject") : null),
        msg, kv,
        el("h2", { text: "Links" }), urls,
        el("h2", { text: "Attempts" }),
        el("ol", {}, ...runs.map((r) => el("li", {}, `run ${r.run}: ${r.state}` +
          (r.claims !== undefined ? `, ${r.claims} claim(s)` : "") +
          (r.error ? ` — ${r.error.code || ""}: ${r.error.message || ""}` : "")))),
        el("h2", { text: "Spec" }), el("pre", { text: JSON.stringify(spec, null, 2) }))));
  live.textContent = "";
  if (!terminal) schedule(() => jobPage(id).catch(showError), POLL_MS * 2);
}

function route() {
  clearTimeout(timer);
  view.id = null;
  const p = location.pathname.slice(BASE.length);
  let m;
  const run = (f) => f.then(() => main.focus({ preventScroll: true })).catch(showError);
  if ((m = p.match(/^\/ui\/batches\/([^/]+)$/))) run(batchPage(decodeURIComponent(m[1])));
  else if ((m = p.match(/^\/ui\/jobs\/([^/]+)$/))) run(jobPage(decodeURIComponent(m[1])));
  else run(overview(0));
}
window.addEventListener("popstate", route);
route();
