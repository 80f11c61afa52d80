// Small DOM helpers: every value from the exchange goes in as text, never as markup.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const svgNS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children.flat()) if (c) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// headers: [label | {label, num}], rows: arrays of cells (text or nodes).
export function table(headers, rows, { caption } = {}) {
  const hs = headers.map((h) => (typeof h === "string" ? { label: h } : h));
  return el("div", { class: "tablewrap" },
    el("table", {},
      caption ? el("caption", { class: "muted" }, caption) : null,
      el("thead", {}, el("tr", {}, hs.map((h) => el("th", { scope: "col", class: h.num ? "num" : null }, h.label)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { class: hs[i] && hs[i].num ? "num" : null }, c ?? "")))))));
}

export function kv(pairs) {
  return el("dl", { class: "kv" }, pairs.filter((p) => p && p[1] !== undefined && p[1] !== null).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

export function fen(n) {
  if (n === null || n === undefined) return "";
  const neg = n < 0;
  const a = Math.abs(n);
  return `${neg ? "−" : ""}¥${Math.floor(a / 100).toLocaleString("en")}.${String(a % 100).padStart(2, "0")}`;
}

export function errorBox(err) {
  const where = err && err.field ? ` (${err.field})` : "";
  return el("div", { class: "error", role: "alert" }, `${err && err.message ? err.message : String(err)}${where}`);
}

export function download(name, type, data) {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function csv(rows) {
  return rows.map((r) => r.map((c) => {
    const s = c === null || c === undefined ? "" : String(c);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }).join(",")).join("\n") + "\n";
}

// The roles with their Chinese names where the README uses them.
export const roleNames = {
  platform: "Platform",
  holder: "Public data holder",
  operator: "Authorized operator (授权运营方)",
  merchant: "Data merchant (数商)",
  buyer: "Buyer",
  auditor: "Auditor",
};
