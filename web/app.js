// The console: one page per hash route, each drawn from the API's answers.
import { api, ApiError, setCsrf } from "./api.js";
import { el, errorBox, roleNames } from "./ui.js";
import * as pages from "./pages.js";

const view = document.getElementById("view");
let me = null;

// [hash prefix, label, roles that see it in the menu (null: all), page]
const menu = [
  ["#/catalog", "Catalog", null],
  ["#/contracts", "Contracts", null],
  ["#/query", "Query console", ["buyer"]],
  ["#/ledger", "Ledger", null],
  ["#/audit", "Audit", ["auditor", "platform"]],
];

function drawNav() {
  const nav = document.getElementById("nav");
  nav.replaceChildren(...menu
    .filter(([, , roles]) => !roles || roles.includes(me.role))
    .map(([href, label]) => el("a", { href }, label)));
  const who = document.getElementById("who");
  who.replaceChildren(
    el("span", {}, `${me.party} · ${roleNames[me.role] || me.role}`),
    me.via === "console" ? el("button", { type: "button", onclick: logout }, "Log out") : null);
}

async function logout() {
  try {
    await api("POST", "/v1/session/logout");
  } finally {
    location.hash = "#/";
    location.reload();
  }
}

function markNav(hash) {
  for (const a of document.querySelectorAll("#nav a")) {
    if (hash.startsWith(a.getAttribute("href"))) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

const routes = [
  [/^#\/catalog$/, () => pages.catalog(me)],
  [/^#\/products\/([^/]+)$/, (m) => pages.product(me, decodeURIComponent(m[1]))],
  [/^#\/contracts$/, () => pages.contracts(me)],
  [/^#\/contracts\/([^/]+)$/, (m) => pages.contract(me, decodeURIComponent(m[1]))],
  [/^#\/query$/, () => pages.queryConsole(me)],
  [/^#\/queries\/([^/]+)$/, (m) => pages.queryResult(me, decodeURIComponent(m[1]))],
  [/^#\/ledger$/, () => pages.ledger(me)],
  [/^#\/audit$/, () => pages.audit(me)],
];

// A page still loading when the hash changes again must not draw over the newer
// one: only the latest route() call draws.
let drawing = 0;

async function route() {
  const mine = ++drawing;
  const hash = location.hash && location.hash !== "#/" ? location.hash : "#/catalog";
  markNav(hash);
  for (const [re, page] of routes) {
    const m = re.exec(hash);
    if (!m) continue;
    view.replaceChildren(el("p", { class: "muted" }, "Loading…"));
    try {
      const node = await page(m);
      if (mine !== drawing) return;
      view.replaceChildren(node);
    } catch (e) {
      if (mine !== drawing) return;
      view.replaceChildren(e instanceof ApiError && e.status === 404
        ? el("div", {}, el("h1", {}, "Not found"), el("p", {}, e.message), el("p", {}, el("a", { href: "#/catalog" }, "Back to the catalog")))
        : el("div", {}, el("h1", {}, "Something went wrong"), errorBox(e)));
    }
    document.title = `${(view.querySelector("h1") || {}).textContent || "Sluice"} · Sluice`;
    view.focus();
    return;
  }
  view.replaceChildren(el("h1", {}, "Not found"), el("p", {}, "There is no such page."));
}

async function start() {
  try {
    me = await api("GET", "/v1/session");
  } catch (e) {
    document.getElementById("nav").replaceChildren();
    view.replaceChildren(el("h1", {}, "Log in"),
      el("p", {}, "Present your party's client certificate (the FILE.crt that sluice party add wrote), or open a login link from ",
        el("code", {}, "sluice serve --console-token NAME"), "."),
      e instanceof ApiError && e.status === 401 ? el("p", { class: "muted" }, e.message) : errorBox(e));
    return;
  }
  setCsrf(me.csrf);
  drawNav();
  window.addEventListener("hashchange", route);
  await route();
}

start();
