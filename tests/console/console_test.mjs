// The web console in Debian's chromium, driven by playwright-core: run by
// tests/integration/console.sh, which starts the daemon with sample data and
// passes what to log in with and what the CLI answered, in the environment.
// Fails on any console error or failed request that the step did not expect,
// and saves a screenshot per page under $OUT.
import { chromium } from "playwright-core";
import { readFileSync, writeFileSync } from "node:fs";

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const BASE = env("BASE"), OUT = env("OUT");
const links = Object.fromEntries(readFileSync(env("LINKS"), "utf8").split("\n")
  .map((l) => /^console login for (\S+) .*: (https:\S+)$/.exec(l)).filter(Boolean).map((m) => [m[1], m[2]]));
const cli = JSON.parse(readFileSync(env("CLI_ANSWER"), "utf8"));
const cliErrors = JSON.parse(readFileSync(env("CLI_ERRORS"), "utf8")).error.errors;
const SQL = env("SQL");

let failures = 0, checks = 0;
function check(what, ok, detail = "") {
  checks++;
  if (ok) console.log(`ok ${checks}: ${what}`);
  else { failures++; console.log(`FAIL: ${what}${detail ? `: ${detail}` : ""}`); }
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });

// A logged-in page of party, with the problems it meets recorded.
async function session(party, { width = 1280, height = 900 } = {}) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width, height }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.expected = [];           // URL patterns whose error answers a step expects
  page.problems = [];
  const expected = (url) => page.expected.some((re) => re.test(url));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const url = (m.location() || {}).url || "";
    if (/Failed to load resource/.test(m.text()) && expected(url)) return;
    page.problems.push(`console error: ${m.text()} ${url}`);
  });
  page.on("pageerror", (e) => page.problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => page.problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400 && !expected(r.url())) page.problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  const link = links[party];
  if (!link) throw new Error(`no login link for ${party}`);
  const resp = await page.goto(link);
  check(`${party} logs in with the link`, resp && resp.ok() && new URL(page.url()).pathname === "/", page.url());
  await page.waitForSelector("#nav a");
  return { ctx, page };
}

async function shot(page, name) {
  await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
}

function clean(page, who) {
  check(`${who}: no console error or failed request`, page.problems.length === 0, page.problems.join("; "));
  page.problems = [];
}

async function go(page, hash, selector) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(selector);
}

// A page that answers late must not draw over the page asked for after it: the
// catalog's answer is held back until the contracts page has drawn.
async function lateAnswer(page) {
  await go(page, "#/ledger", "#ledger-chart");
  let held = null;
  const arrived = new Promise((resolve) => {
    page.route("**/v1/products", (r) => { held = r; resolve(); });
  });
  await page.evaluate(() => { location.hash = "#/catalog"; });
  await arrived;
  await go(page, "#/contracts", "main table");
  const answered = page.waitForResponse("**/v1/products");
  await held.continue();
  await answered;
  await page.unroute("**/v1/products");
  await page.waitForTimeout(300);
  check("a late answer for the catalog leaves the contracts page drawn",
    (await page.locator("main table").count()) === 1 && (await page.locator("article.card").count()) === 0,
    await page.locator("main").innerText());
}

// ---- the merchant --------------------------------------------------------------
{
  const { ctx, page } = await session("acme-merchant");
  await go(page, "#/catalog", "article.card");
  check("the catalog lists the demo's products", (await page.locator("article.card").count()) >= 2);
  await shot(page, "merchant-catalog");
  await go(page, "#/products/claims2", "#upload-file");
  check("the product page lists its columns", (await page.locator("table").first().innerText()).includes("member_id"));
  check("the product page shows Chinese terms beside English ones", (await page.locator("main").innerText()).includes("授权运营方"));
  await page.setInputFiles("#upload-file", env("GOOD_CSV"));
  await page.click("#upload-start");
  await page.waitForSelector("#upload-status .success, #upload-status .error");
  const ok = await page.locator("#upload-status").innerText();
  check("an upload publishes a version", /Loaded 1,000 rows into claims2 version 1 /.test(ok), ok);
  check("the progress bar is full", (await page.locator("#upload-progress").evaluate((e) => e.value)) === 1);
  check("the load history shows it", (await page.locator("main").innerText()).includes("1,000"));
  page.expected.push(/\/v1\/uploads\/[^/]+\/(parts|complete)/);
  await page.setInputFiles("#upload-file", env("BAD_CSV"));
  await page.click("#upload-start");
  await page.waitForSelector("#upload-errors");
  const errs = await page.locator("#upload-errors li").allInnerTexts();
  const want = cliErrors.map((e) => `bad.csv:${e.line}:${e.column}: ${e.message}`);
  check("a bad file shows the CLI's line:column errors", JSON.stringify(errs) === JSON.stringify(want), `${JSON.stringify(errs)} vs ${JSON.stringify(want)}`);
  page.expected = [];
  await shot(page, "merchant-product");
  await go(page, "#/contracts", "table");
  await shot(page, "merchant-contracts");
  await go(page, "#/ledger", "#ledger-chart");
  await shot(page, "merchant-ledger");
  clean(page, "merchant");
  await ctx.close();
}

// ---- the buyer -----------------------------------------------------------------
let buyerQuery = null;
{
  const { ctx, page } = await session("pacific-insurance");
  await go(page, "#/query", "#allowed table");
  await page.fill("#sql", SQL);
  await page.click("#run");
  await page.waitForSelector("#answer, #result .error");
  const rows = await page.locator("#answer table tbody tr").evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
  const want = cli.rows.map((r) => r.map((v) => (typeof v === "number" ? v.toLocaleString("en", { maximumFractionDigits: 6 }) : String(v))));
  check("the released rows are the CLI's", JSON.stringify(rows) === JSON.stringify(want), `${JSON.stringify(rows)} vs ${JSON.stringify(want)}`);
  const fact = (name) => page.evaluate((n) => {
    const dt = Array.from(document.querySelectorAll("#answer dt")).find((e) => e.textContent === n);
    return dt ? dt.nextElementSibling.textContent : null;
  }, name);
  check("the suppression count is the CLI's", (await fact("Suppressed groups")) === String(cli.suppressed_groups), await fact("Suppressed groups"));
  check("the charge is shown", /^¥\d/.test(await fact("Charged")), await fact("Charged"));
  buyerQuery = (await page.locator("#answer a.mono").first().innerText()).trim();
  await page.waitForSelector("#past table");
  await shot(page, "buyer-query");
  await page.screenshot({ path: `${OUT}/console-query.png` });
  await go(page, `#/queries/${buyerQuery}`, "#answer");
  await shot(page, "buyer-query-result");
  await go(page, "#/ledger", "#ledger-chart");
  check("the buyer's ledger has its own statement", (await page.locator("#ledger-chart polyline.series").count()) === 1);
  await go(page, "#/contracts", "table");
  await page.click("main table a");
  await page.waitForSelector("text=Signatures");
  await shot(page, "buyer-contract");
  clean(page, "buyer");
  await ctx.close();
  // Narrow: the query console at a phone's width.
  const narrow = await session("deepsight-ai", { width: 390, height: 844 });
  await go(narrow.page, "#/query", "#allowed");
  const wide = await narrow.page.evaluate(() => document.documentElement.scrollWidth);
  check("usable at 390 px: nothing wider than the screen", wide <= 390, `scrollWidth ${wide}`);
  await shot(narrow.page, "buyer-query-390px");
  // dp mode: the answer states its noise, and the budget left goes down by the query's share.
  const claims = await narrow.page.evaluate(() => Array.from(document.querySelectorAll("#contract option")).find((o) => o.textContent.startsWith("claims")).value);
  const shown = await narrow.page.locator("#allowed").innerText();
  if ((await narrow.page.inputValue("#contract")) !== claims) {
    await narrow.page.selectOption("#contract", claims);
    await narrow.page.waitForFunction((s) => document.querySelector("#allowed").innerText !== s, shown);
  }
  await narrow.page.waitForSelector("#budget");
  const before = await narrow.page.locator("#budget").innerText();
  await narrow.page.click("#run");
  await narrow.page.waitForSelector("#answer #noise li, #result .error");
  const noise = await narrow.page.locator("#answer #noise").innerText();
  check("a dp answer states its noise and interval", /scale \d.*±\d+ at 95%/.test(noise), noise);
  await narrow.page.waitForFunction((b) => document.querySelector("#budget") && document.querySelector("#budget").textContent !== b, before);
  const after = await narrow.page.locator("#budget").innerText();
  const left = (t) => Number(/: (\S+) of/.exec(t)[1]);
  check("the budget left goes down by the query's epsilon", left(before) - left(after) === 1, `${before} -> ${after}`);
  await shot(narrow.page, "buyer-dp-query-390px");
  // Another buyer's query: not found, as if it did not exist.
  narrow.page.expected.push(/\/v1\/queries\/q_/);
  await go(narrow.page, `#/queries/${buyerQuery}`, "h1");
  await narrow.page.waitForFunction(() => document.querySelector("h1").textContent !== "" && !document.querySelector("main p.muted:only-child"));
  check("another buyer's query URL shows not found", (await narrow.page.locator("h1").innerText()) === "Not found");
  narrow.page.expected = [];
  clean(narrow.page, "second buyer");
  await narrow.ctx.close();
}

// ---- the auditor ---------------------------------------------------------------
{
  const { ctx, page } = await session("audit-office");
  await go(page, "#/audit", "#verify-result");
  const v = await page.locator("#verify-result").innerText();
  check("the auditor's export verifies in the browser", v.startsWith("Export verified") && v.includes("signature verifies"), v);
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#audit-download")]);
  await dl.saveAs(`${OUT}/audit.jsonl`);
  await page.selectOption("#filter-action", "query.released").catch(() => page.selectOption("#filter-action", { index: 1 }));
  check("the filter narrows the events", /^\d+ of \d+ events/.test(await page.locator("#events p").innerText()));
  await shot(page, "auditor-audit");
  await go(page, "#/ledger", "#ledger-chart");
  const statements = await page.evaluate(async () => (await (await fetch("/v1/ledger")).json()).statements.length);
  const series = await page.locator("#ledger-chart polyline.series").count();
  check("the ledger chart has one series per party", series === statements && series > 2, `${series} series, ${statements} statements`);
  await shot(page, "auditor-ledger");
  // Keyboard: from the page's top, Tab reaches the menu and Enter opens a page.
  await page.click(".brand");
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => [document.activeElement.parentElement.id, document.activeElement.textContent]);
  check("keyboard: Tab reaches the menu", first[0] === "nav", JSON.stringify(first));
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => location.hash === "#/catalog");
  await page.waitForSelector("article.card");
  check("keyboard: Enter opens the page", true);
  clean(page, "auditor");
  await ctx.close();
}

// ---- the other roles: the pages their role lists, without an error --------
for (const [party, role] of [["city-health-bureau", "holder"], ["ningbo-data-ops", "operator"], ["platform", "platform"]]) {
  const { ctx, page } = await session(party);
  const menu = await page.locator("#nav a").allInnerTexts();
  const want = role === "platform" ? ["Catalog", "Contracts", "Ledger", "Audit"] : ["Catalog", "Contracts", "Ledger"];
  check(`${party}: the menu its role may see`, JSON.stringify(menu) === JSON.stringify(want), JSON.stringify(menu));
  if (role === "holder") await lateAnswer(page);
  await go(page, "#/catalog", "article.card");
  await go(page, "#/contracts", "table");
  await page.click("main table a");
  await page.waitForSelector("text=Signatures");
  await shot(page, `${role}-contract`);
  await go(page, "#/ledger", "#ledger-chart");
  if (role === "platform") {
    await go(page, "#/audit", "#verify-result");
    check("the platform's export verifies", (await page.locator("#verify-result").innerText()).startsWith("Export verified"));
  }
  await shot(page, `${role}-ledger`);
  clean(page, role);
  await ctx.close();
}

await browser.close();
writeFileSync(`${OUT}/result.txt`, `${checks - failures} passed, ${failures} failed\n`);
console.log(`${checks - failures} of ${checks} browser checks passed`);
process.exit(failures ? 1 : 0);
