// The pages.  Each takes the caller (GET /v1/session) and returns a node.
import { api, randomKey } from "./api.js";
import { el, svg, table, kv, fen, errorBox, download, csv, roleNames } from "./ui.js";
import { verifyExport } from "./verify.js";

const enc = encodeURIComponent;
const classTag = (c) => el("span", { class: `tag ${c || ""}` }, c || "");

function describeColumn(c) {
  if (c.domain) return `${c.domain.length} values: ${c.domain.slice(0, 6).join(", ")}${c.domain.length > 6 ? ", …" : ""}`;
  if (c.bounds) return `${c.bounds[0]} to ${c.bounds[1]}`;
  return "";
}

function releaseText(rel) {
  if (!rel) return "";
  if (rel.mode === "threshold") return `threshold: groups of at least ${rel.min_group} units`;
  if (rel.mode === "dp") {
    const b = rel.mechanism === "gaussian" ? `ρ ${rel.rho_per_query} a query of ${rel.rho_total}` : `ε ${rel.epsilon_per_query} a query of ${rel.epsilon_total}`;
    return `differential privacy (${rel.mechanism || "laplace"}): ${b}`;
  }
  return rel.mode;
}

// ---- catalog ------------------------------------------------------------------
export async function catalog(me) {
  const { products } = await api("GET", "/v1/products");
  const full = await Promise.all(products.map((p) => api("GET", `/v1/products/${enc(p.name)}`)));
  const cards = full.map((p) => {
    const pub = p.versions.filter((v) => v.state === "published");
    const latest = pub[pub.length - 1];
    const s = p.schema || {};
    return el("article", { class: "card" },
      el("h2", {}, el("a", { href: `#/products/${enc(p.name)}` }, s.title || p.name)),
      el("p", { class: "muted" }, `${p.name} · ${s.category || "uncategorised"}`),
      s.description ? el("p", {}, s.description) : null,
      kv([["Merchant (数商)", p.merchant], ["Holder", p.holder || "—"], ["Operator (授权运营方)", p.operator || "—"],
        ["Latest version", latest ? `${latest.version}: ${latest.rows.toLocaleString("en")} rows` : "no data yet"]]));
  });
  return el("section", {}, el("h1", {}, "Catalog of data products"),
    el("p", { class: "muted" }, "Data elements (数据要素) listed by data merchants. Rows never leave the exchange: buyers query aggregates under a contract."),
    cards.length ? el("div", { class: "grid" }, cards) : el("p", {}, "No products are listed yet."));
}

export async function product(me, name) {
  const p = await api("GET", `/v1/products/${enc(name)}`);
  const s = p.schema || {};
  const mine = me.role === "merchant" && p.merchant === me.party;
  const history = el("div", {});
  const drawHistory = (versions) => history.replaceChildren(versions.length
    ? table(["Version", { label: "Rows", num: true }, { label: "Chunks", num: true }, { label: "Bytes (encrypted)", num: true }, "State", "Loaded"],
      versions.map((v) => [String(v.version), v.rows.toLocaleString("en"), String(v.chunks), v.bytes.toLocaleString("en"), v.state, v.created]))
    : el("p", { class: "muted" }, "No version is loaded yet."));
  drawHistory(p.versions);
  return el("section", {},
    el("h1", {}, s.title || p.name),
    el("p", { class: "muted" }, `${p.name} · ${s.category || "uncategorised"}`),
    s.description ? el("p", {}, s.description) : null,
    el("div", { class: "card" }, kv([["Merchant (数商)", p.merchant], ["Public data holder", p.holder || "—"],
      ["Authorized operator (授权运营方)", p.operator || "—"], ["Listed", p.created]])),
    el("h2", {}, "Columns"),
    table(["Name", "Type", "Class", "Values"], (s.columns || []).map((c) => [el("code", {}, c.name), c.type, classTag(c.class), describeColumn(c)])),
    el("p", { class: "muted" }, "A unit column identifies a person or entity and is never released; dimensions may be grouped by; measures are aggregated."),
    el("h2", {}, mine ? "Versions and load history" : "Versions"),
    history,
    mine ? uploader(p, async () => drawHistory((await api("GET", `/v1/products/${enc(name)}`)).versions)) : null);
}

// The merchant's upload: the file in parts at their offsets, with a progress bar.
function uploader(p, reload) {
  const file = el("input", { type: "file", id: "upload-file", accept: ".csv,.jsonl,.ndjson" });
  const format = el("select", { id: "upload-format" }, el("option", { value: "" }, "from the file name"), el("option", { value: "csv" }, "CSV"), el("option", { value: "jsonl" }, "JSON Lines"));
  const bar = el("progress", { id: "upload-progress", max: "1", value: "0" });
  const status = el("div", { id: "upload-status", "aria-live": "polite" });
  const go = el("button", { type: "button", id: "upload-start" }, "Upload");
  go.addEventListener("click", async () => {
    const f = file.files[0];
    if (!f) { status.replaceChildren(errorBox(new Error("choose a file first"))); return; }
    const fmt = format.value || (/\.(jsonl|ndjson)$/i.test(f.name) ? "jsonl" : /\.csv$/i.test(f.name) ? "csv" : "");
    if (!fmt) { status.replaceChildren(errorBox(new Error(`${f.name}: cannot tell the format from the name; choose one`))); return; }
    go.disabled = true;
    bar.value = 0;
    status.replaceChildren(el("p", { class: "muted" }, `Uploading ${f.name}…`));
    let up = null;
    try {
      up = await api("POST", `/v1/products/${enc(p.name)}/uploads`, { format: fmt, size: f.size });
      let off = 0;
      while (off < f.size) {
        try {
          const st = await api("POST", `/v1/uploads/${up.upload}/parts?offset=${off}`, f.slice(off, Math.min(off + up.part_max, f.size)));
          off = st.received;
        } catch (e) {
          // Where the upload is, when an answer was lost: go on from there.
          if (e.status === 409 && e.doc && e.doc.error && typeof e.doc.error.received === "number") { off = e.doc.error.received; continue; }
          throw e;
        }
        bar.value = f.size ? off / f.size : 1;
        status.replaceChildren(el("p", { class: "muted" }, `${off.toLocaleString("en")} of ${f.size.toLocaleString("en")} bytes`));
      }
      const done = await api("POST", `/v1/uploads/${up.upload}/complete`);
      up = null;
      bar.value = 1;
      status.replaceChildren(el("div", { class: "success" }, `Loaded ${done.rows.toLocaleString("en")} rows into ${done.product} version ${done.version} (${done.chunks} chunks, ${done.bytes.toLocaleString("en")} bytes encrypted)`));
      await reload();
    } catch (e) {
      const errs = e.doc && e.doc.error && e.doc.error.errors;
      if (errs) {
        up = null; // a refusal ended the upload
        const total = e.doc.error.total || errs.length;
        status.replaceChildren(el("div", { class: "error", role: "alert", id: "upload-errors" },
          el("p", {}, `${f.name}: refused, nothing loaded`),
          el("ul", { class: "plain mono" }, errs.map((x) => el("li", {}, x.line > 0 ? `${f.name}:${x.line}:${x.column}: ${x.message}` : `${f.name}: ${x.message}`))),
          total > errs.length ? el("p", {}, `… and ${total - errs.length} more errors`) : null));
      } else {
        status.replaceChildren(errorBox(e));
      }
      if (up) api("POST", `/v1/uploads/${up.upload}/cancel`).catch(() => {});
    } finally {
      go.disabled = false;
    }
  });
  return el("div", { class: "card" }, el("h2", {}, "Upload a new version"),
    el("p", { class: "muted" }, "The file goes to a confined ingest worker in parts; it is validated as sluice product load validates it, and published only if every row is valid."),
    el("label", { for: "upload-file" }, "File (CSV or JSON Lines)"), file,
    el("label", { for: "upload-format" }, "Format"), format,
    el("div", { class: "row" }, go), el("label", { for: "upload-progress" }, "Progress"), bar, status);
}

// ---- contracts ------------------------------------------------------------------
export async function contracts(me) {
  const { contracts: list } = await api("GET", "/v1/contracts");
  return el("section", {}, el("h1", {}, "Usage contracts"),
    el("p", { class: "muted" }, "Signed by the public data holder, the authorized operator (授权运营方), the data merchant (数商), the buyer and the platform."),
    list.length ? table(["Contract", "Product", "Buyer", "Purpose", "State", "Signed", { label: "Queries used", num: true }],
      list.map((c) => [el("a", { href: `#/contracts/${enc(c.id)}`, class: "mono" }, c.id), c.product, c.buyer, c.purpose || "",
        el("span", { class: `state-${c.state}` }, c.state), `${c.signed_by.length} of ${c.signed_by.length + c.missing.length}`,
        `${c.queries_used}${c.query_quota ? ` of ${c.query_quota}` : ""}`]))
      : el("p", {}, "No contracts of yours yet."));
}

export async function contract(me, id) {
  const c = await api("GET", `/v1/contracts/${enc(id)}`);
  const d = c.document || {};
  const out = el("div", { "aria-live": "polite" });
  const parts = [el("h1", {}, `Contract ${c.id}`),
    el("div", { class: "card" }, kv([["Product", d.product ? d.product.name : c.product], ["Buyer", c.buyer], ["Purpose", d.purpose],
      ["State", el("span", { class: `state-${c.state}` }, c.state)], ["Columns the buyer may use", (d.columns || []).join(", ")],
      ["Aggregates", (d.aggregates || []).join(", ")], ["Disclosure rule", releaseText(d.release)],
      ["Price a released query", fen(d.price_fen)], ["Queries", `${c.queries_used} used of ${c.query_quota || d.query_quota || "no limit"}`],
      ["Revenue shares", Object.entries(d.revenue_shares || {}).map(([k, v]) => `${k} ${(v / 100).toFixed(2)}%`).join(", ")],
      ["Offered", d.offered_at], ["Active since", c.activated]]))];
  parts.push(el("h2", {}, "Signatures"),
    table(["Party", "Role", "Signed"], (d.parties || []).map((p) => [p.name, roleNames[p.role] || p.role,
      c.signed_by.includes(p.name) ? el("span", { class: "ok" }, "signed") : el("span", { class: "warn" }, "not yet")])));
  const sigFile = el("input", { type: "file", id: "sig-file", accept: ".json" });
  const submit = el("button", { type: "button", id: "sig-submit" }, "Upload signed document");
  submit.addEventListener("click", async () => {
    if (!sigFile.files[0]) return;
    try {
      const r = await api("POST", `/v1/contracts/${enc(id)}/submit`, await sigFile.files[0].text());
      out.replaceChildren(el("div", { class: "success" }, `Submitted: the contract is ${r.state}.`));
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  parts.push(el("h2", {}, "Sign offline"),
    el("div", { class: "card" },
      el("p", {}, "Download the document, sign it on your own machine with ", el("code", {}, "sluice contract sign C.json --identity YOUR.key"), ", then upload it here."),
      el("div", { class: "row" },
        el("button", { type: "button", class: "secondary", onclick: () => download(`${c.id}.json`, "application/json", JSON.stringify(d, null, 2) + "\n") }, "Download document"),
        me.role !== "auditor" ? el("span", {}, el("label", { for: "sig-file" }, "Signed document"), sigFile, " ", submit) : null)));
  if (d.release && d.release.mode === "dp") {
    try {
      const b = await api("GET", `/v1/contracts/${enc(id)}/budget`);
      parts.push(el("h2", {}, "Privacy budget"), el("div", { class: "card" }, kv(Object.entries(b).filter(([, v]) => typeof v !== "object").map(([k, v]) => [k.replace(/_/g, " "), String(v)]))));
    } catch (e) {
      parts.push(errorBox(e));
    }
  }
  if (me.role !== "auditor" && c.state !== "revoked") {
    const reason = el("input", { id: "revoke-reason", placeholder: "why" });
    parts.push(el("h2", {}, "End the contract"), el("div", { class: "card row" }, el("label", { for: "revoke-reason" }, "Reason"), reason,
      el("button", { type: "button", class: "secondary", onclick: async () => {
        try {
          await api("POST", `/v1/contracts/${enc(id)}/revoke`, { reason: reason.value });
          out.replaceChildren(el("div", { class: "success" }, "Revoked."));
        } catch (e) {
          out.replaceChildren(errorBox(e));
        }
      } }, "Revoke")));
  }
  parts.push(out);
  return el("section", {}, parts);
}

// ---- queries --------------------------------------------------------------------
function answerView(a) {
  const rel = a.release || {};
  const facts = [["Query", el("a", { href: `#/queries/${enc(a.query_id)}`, class: "mono" }, a.query_id)], ["Product version", String(a.version)],
    ["Released rows", String(a.rows.length)], ["Suppressed groups", String(a.suppressed_groups ?? 0)], ["Charged", fen(a.charged_fen)],
    ["Disclosure rule", releaseText(rel) || rel.mode]];
  for (const [k, v] of Object.entries(rel)) {
    if (["mode", "min_group", "mechanism"].includes(k)) continue;
    if (k === "noise" && Array.isArray(v)) {
      // Each noisy quantity with its scale and the half-width of its 95% interval.
      facts.push(["Noise", el("ul", { class: "plain", id: "noise" }, v.map((q) => el("li", {},
        `${q.quantity}${q.column ? ` of ${q.column}` : ""}: ${q.scale !== undefined ? `scale ${q.scale}` : `σ² ${q.sigma2}`}, ±${q.ci95} at 95%`)))]);
      continue;
    }
    facts.push([k.replace(/_/g, " "), typeof v === "object" ? JSON.stringify(v) : String(v)]);
  }
  return el("div", { id: "answer" },
    table(a.columns, a.rows.map((r) => r.map((v) => (v === null ? "—" : typeof v === "number" ? v.toLocaleString("en", { maximumFractionDigits: 6 }) : String(v))))),
    el("div", { class: "card" }, kv(facts)));
}

export async function queryConsole(me) {
  const { contracts: all } = await api("GET", "/v1/contracts");
  const active = all.filter((c) => c.state === "active" && c.buyer === me.party);
  if (!active.length) return el("section", {}, el("h1", {}, "Query console"), el("p", {}, "You have no active contract."));
  const pick = el("select", { id: "contract" }, active.map((c) => el("option", { value: c.id }, `${c.product} · ${c.purpose || c.id}`)));
  const sql = el("textarea", { id: "sql", spellcheck: "false", "aria-label": "SQL" });
  const side = el("div", { class: "card", id: "allowed" });
  const result = el("div", { id: "result", "aria-live": "polite" });
  const past = el("div", { id: "past" });
  const run = el("button", { type: "button", id: "run" }, "Run query");
  const docs = new Map();

  async function showContract() {
    const id = pick.value;
    if (!docs.has(id)) {
      const c = await api("GET", `/v1/contracts/${enc(id)}`);
      const p = await api("GET", `/v1/products/${enc(c.product)}`);
      docs.set(id, { c, p });
    }
    const { c, p } = docs.get(id);
    const d = c.document;
    const cols = (p.schema.columns || []).filter((x) => d.columns.includes(x.name));
    let budget = null;
    if (d.release && d.release.mode === "dp") {
      const b = await api("GET", `/v1/contracts/${enc(id)}/budget`);
      budget = el("p", { id: "budget" }, el("strong", {}, "Privacy budget: "),
        `${b.remaining} of ${b.total} (${b.unit === "rho" ? "ρ" : "ε"}) left after ${b.queries} queries`);
    }
    side.replaceChildren(el("h2", {}, "Allowed by the contract"), el("p", { class: "muted" }, releaseText(d.release)), budget,
      el("p", {}, el("strong", {}, "Aggregates: "), d.aggregates.join(", ")),
      table(["Column", "Class", "Values"], cols.map((x) => [el("code", {}, x.name), classTag(x.class), describeColumn(x)])),
      el("p", { class: "muted" }, `${c.queries_used} of ${c.query_quota || "unlimited"} queries used · ${fen(d.price_fen)} a released query`));
    if (!sql.value) {
      const dim = cols.find((x) => x.class === "dimension");
      sql.value = `SELECT ${dim ? `${dim.name}, ` : ""}COUNT(*) FROM ${c.product}${dim ? ` GROUP BY ${dim.name}` : ""}`;
    }
    await showPast();
  }

  async function showPast() {
    const { queries } = await api("GET", `/v1/queries?contract=${enc(pick.value)}`);
    past.replaceChildren(el("h2", {}, "Past queries"), queries.length
      ? table(["When", "Query", "State", { label: "Charged", num: true }, "SQL"], queries.slice(0, 20).map((q) => [q.submitted,
        el("a", { href: `#/queries/${enc(q.query_id)}`, class: "mono" }, q.query_id.slice(0, 12) + "…"), q.state, fen(q.charged_fen), el("code", {}, q.sql || "")]))
      : el("p", { class: "muted" }, "None yet."));
  }

  run.addEventListener("click", async () => {
    run.disabled = true;
    result.replaceChildren(el("p", { class: "muted" }, "Running in a confined worker…"));
    try {
      const a = await api("POST", "/v1/queries", { contract: pick.value, sql: sql.value });
      result.replaceChildren(el("h2", {}, "Released answer"), answerView(a));
      if (a.release && a.release.mode === "dp") showContract().catch(() => {}); // the budget left
    } catch (e) {
      result.replaceChildren(el("h2", {}, e.code === "refused" ? "Refused" : "Failed"), errorBox(e));
    } finally {
      run.disabled = false;
      showPast().catch(() => {});
    }
  });
  pick.addEventListener("change", () => { sql.value = ""; showContract(); });
  await showContract();
  return el("section", {}, el("h1", {}, "Query console"),
    el("div", { class: "cols" },
      el("div", {}, el("label", { for: "contract" }, "Contract"), pick, el("label", { for: "sql" }, "SQL"), sql,
        el("div", { class: "row" }, run, el("span", { class: "muted" }, "Only aggregates that pass the contract's rule are released.")), result),
      side),
    past);
}

export async function queryResult(me, id) {
  const q = await api("GET", `/v1/queries/${enc(id)}`);
  return el("section", {}, el("h1", {}, `Query ${q.query_id}`),
    el("div", { class: "card" }, kv([["Contract", el("a", { href: `#/contracts/${enc(q.contract)}`, class: "mono" }, q.contract)], ["State", q.state], ["Submitted", q.submitted], ["Finished", q.finished]])),
    q.answer ? answerView(q.answer) : el("div", { class: "error" }, q.reason || "no answer"));
}

// ---- ledger ---------------------------------------------------------------------
const palette = ["#1f4e79", "#c0392b", "#1b7a3a", "#8e44ad", "#d68910", "#117a8b", "#6d4c41", "#34495e"];

function incomeChart(statements) {
  const series = statements.map((s) => {
    let total = s.opening_fen || 0;
    const pts = [...s.entries].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.transaction - b.transaction))
      .map((e, i) => ({ i, t: Date.parse(e.time), v: (total += e.amount_fen) }));
    return { name: s.account, pts };
  });
  const all = series.flatMap((s) => s.pts);
  const W = 720, H = 260, L = 70, B = 30, T = 12, R = 12;
  const t0 = Math.min(...all.map((p) => p.t)), t1 = Math.max(...all.map((p) => p.t));
  const vmax = Math.max(1, ...all.map((p) => p.v)), vmin = Math.min(0, ...all.map((p) => p.v));
  // Many entries in one second: the order of entries spreads them where time does not.
  const n = Math.max(...series.map((s) => s.pts.length), 1);
  const x = (p) => L + (W - L - R) * (t1 > t0 ? (p.t - t0) / (t1 - t0) : p.i / Math.max(1, n - 1));
  const y = (v) => T + (H - T - B) * (1 - (v - vmin) / (vmax - vmin));
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Income per party over time" });
  g.append(svg("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#999" }));
  for (const f of [0, 0.5, 1]) {
    const v = vmin + (vmax - vmin) * f;
    g.append(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#555" }, fen(Math.round(v))));
  }
  if (t1 > t0) {
    g.append(svg("text", { x: L, y: H - 8, "font-size": 11, fill: "#555" }, new Date(t0).toISOString().slice(0, 16).replace("T", " ")));
    g.append(svg("text", { x: W - R, y: H - 8, "font-size": 11, fill: "#555", "text-anchor": "end" }, new Date(t1).toISOString().slice(0, 16).replace("T", " ")));
  }
  series.forEach((s, k) => {
    if (!s.pts.length) return;
    const pts = s.pts.map((p) => `${x(p).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
    g.append(svg("polyline", { points: pts, fill: "none", stroke: palette[k % palette.length], "stroke-width": 2, class: "series", "data-party": s.name }));
  });
  const legend = el("div", { class: "legend" }, series.map((s, k) => {
    const e = el("span", {}, s.name);
    e.style.setProperty("--c", palette[k % palette.length]);
    return e;
  }));
  return el("div", { class: "chart", id: "ledger-chart" }, g, legend);
}

export async function ledger(me) {
  const doc = await api("GET", "/v1/ledger");
  const st = doc.statements || [];
  const rows = st.map((s) => {
    const income = s.entries.reduce((a, e) => a + e.amount_fen, 0);
    return [s.account, roleNames[s.role] || s.role || "", fen(s.opening_fen), String(s.entries.length), fen(income), fen((s.opening_fen || 0) + income)];
  });
  const entries = st.flatMap((s) => s.entries.map((e) => [s.account, e.time, e.contract, e.query, e.transaction, e.amount_fen]));
  return el("section", {}, el("h1", {}, me.role === "auditor" || me.role === "platform" ? "Ledger of every party" : "Your statement"),
    el("p", { class: "muted" }, "Each released query is charged and its price split among the contract's parties (double entry, in fen)."),
    table(["Account", "Role", { label: "Opening", num: true }, { label: "Entries", num: true }, { label: "Income", num: true }, { label: "Closing", num: true }], rows),
    el("h2", {}, "Income over time"), st.length ? incomeChart(st) : el("p", {}, "No entries."),
    el("div", { class: "row" }, el("button", { type: "button", id: "ledger-csv", class: "secondary",
      onclick: () => download("ledger.csv", "text/csv", csv([["account", "time", "contract", "query", "transaction", "amount_fen"], ...entries])) }, "Export as CSV")),
    el("h2", {}, "Latest entries"),
    table(["Account", "Time", "Contract", "Query", { label: "Amount", num: true }], entries.sort((a, b) => (a[1] < b[1] ? 1 : -1)).slice(0, 50)
      .map((e) => [e[0], e[1], el("span", { class: "mono" }, e[2]), el("span", { class: "mono" }, e[3] || ""), fen(e[5])])));
}

// ---- audit ----------------------------------------------------------------------
export async function audit(me) {
  const text = await api("GET", "/v1/audit/export", undefined, { text: true });
  const [v, cp] = await Promise.all([verifyExport(text), api("GET", "/v1/audit/checkpoint")]);
  const events = v.events.slice().reverse();
  const actions = [...new Set(events.map((e) => e.action))].sort();
  const actors = [...new Set(events.map((e) => e.actor))].sort();
  const fa = el("select", { id: "filter-action" }, el("option", { value: "" }, "every action"), actions.map((a) => el("option", { value: a }, a)));
  const fp = el("select", { id: "filter-actor" }, el("option", { value: "" }, "every actor"), actors.map((a) => el("option", { value: a }, a)));
  const fq = el("input", { id: "filter-text", type: "search", placeholder: "subject contains" });
  const list = el("div", { id: "events" });
  const draw = () => {
    const shown = events.filter((e) => (!fa.value || e.action === fa.value) && (!fp.value || e.actor === fp.value) && (!fq.value || e.subject.includes(fq.value)));
    list.replaceChildren(el("p", { class: "muted" }, `${shown.length} of ${events.length} events${shown.length > 200 ? "; the newest 200 shown" : ""}`),
      table([{ label: "Seq", num: true }, "Time", "Actor", "Action", "Subject", "Details"], shown.slice(0, 200).map((e) => [String(e.seq), e.time, e.actor, e.action,
        el("span", { class: "mono" }, e.subject), el("span", { class: "mono" }, JSON.stringify(e.details))])));
  };
  for (const f of [fa, fp]) f.addEventListener("change", draw);
  fq.addEventListener("input", draw);
  draw();
  return el("section", {}, el("h1", {}, "Audit log"),
    el("div", { class: v.ok ? "success" : "error", id: "verify-result", role: "status" },
      el("strong", {}, v.ok ? "Export verified" : "Export does NOT verify"),
      el("ul", { class: "plain" }, v.steps.map(([ok, t]) => el("li", { class: ok === false ? "bad" : ok ? "ok" : "warn" }, `${ok === false ? "✗" : ok ? "✓" : "?"} ${t}`))),
      el("p", { class: "muted" }, "For the record, verify the downloaded file offline: sluice audit verify audit.jsonl --key platform.pub")),
    el("div", { class: "row" }, el("button", { type: "button", id: "audit-download", class: "secondary", onclick: () => download("audit.jsonl", "application/jsonl", text) }, "Download export")),
    el("h2", {}, "Latest signed checkpoint"),
    el("div", { class: "card", id: "checkpoint" }, kv([["Events", String(cp.checkpoint.tree_size)], ["Root", el("code", {}, cp.checkpoint.root)], ["Signed", cp.checkpoint.time], ["Key", el("code", {}, cp.key)]])),
    el("h2", {}, "Events"),
    el("div", { class: "row" }, el("label", { for: "filter-action" }, "Action"), fa, el("label", { for: "filter-actor" }, "Actor"), fp, el("label", { for: "filter-text" }, "Subject"), fq),
    list);
}
