// The dashboard in a real browser (issue 19): puppeteer-core driving
// Debian's chromium, for tests/integration/ui_browser.sh.
//
//   node ui_browser.mjs BASE_URL LIVE_BATCH CANCEL_BATCH OUT_DIR READY_FILE N
//
// 1. /ui/ lists both batches (screenshot overview.png).
// 2. CANCEL_BATCH's page: "Cancel batch" (confirm accepted) turns every
//    card cancelled without a reload.
// 3. LIVE_BATCH's page opens with N queued cards; READY_FILE is written,
//    the shell starts a worker, and the grid must fill with N loaded
//    thumbnails (naturalWidth > 0) in the same page (batch.png).
// 4. The prompt with markup shows as text and ran nothing.
// 5. A job page shows the poster and its spec (job.png); a phone-sized
//    viewport of the batch (batch-phone.png).
// 6. With KEYED_BASE (an API with api_keys) and KEYED_KEY: the page asks
//    for the key once and then shows the batch with its thumbnails.
// Any page error fails the run.  Exit 0 on success, 1 with a message.
import fs from "node:fs";
import path from "node:path";

let puppeteer;
try {
  puppeteer = (await import("puppeteer-core")).default;
} catch (e) {
  console.error("FAIL: puppeteer-core is not installed (npm ci): " + e.message);
  process.exit(1);
}
const [base, liveBatch, cancelBatch, outDir, readyFile, nStr] = process.argv.slice(2);
const N = Number(nStr);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
if (!fs.existsSync(CHROMIUM)) {
  console.error(`FAIL: ${CHROMIUM} not found (make deps installs chromium)`);
  process.exit(1);
}
fs.mkdirSync(outDir, { recursive: true });
const fail = (m) => { throw new Error(m); };
const errors = [];

const browser = await puppeteer.launch({
  executablePath: CHROMIUM, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  page.on("dialog", (d) => d.accept());

  // 1. overview
  await page.goto(base + "/ui/", { waitUntil: "networkidle0" });
  await page.waitForSelector("table.batches tbody tr", { timeout: 10000 });
  const ids = await page.$$eval("table.batches td.id a", (as) => as.map((a) => a.textContent));
  if (!ids.includes(liveBatch) || !ids.includes(cancelBatch))
    fail(`overview lists ${ids.join(",")}, not both batches`);
  await page.screenshot({ path: path.join(outDir, "overview.png") });

  // 2. cancel from the page
  await page.goto(`${base}/ui/batches/${cancelBatch}`, { waitUntil: "networkidle0" });
  await page.waitForSelector("#grid li.card");
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.click("#cancel");
  await page.waitForFunction(() => {
    const cards = [...document.querySelectorAll("#grid li.card")];
    return cards.length > 0 && cards.every((c) => c.dataset.state === "cancelled");
  }, { timeout: 10000 });
  if (!(await page.evaluate(() => window.__sameDocument === true))) fail("cancel reloaded the page");

  // 3. live fill
  await page.goto(`${base}/ui/batches/${liveBatch}`, { waitUntil: "networkidle0" });
  await page.waitForFunction((n) => document.querySelectorAll("#grid li.card").length === n,
    { timeout: 10000 }, N);
  const before = await page.$$eval("#grid li.card", (cs) => cs.map((c) => c.dataset.state));
  if (before.some((s) => s === "succeeded")) fail("jobs finished before the worker started");
  await page.evaluate(() => { window.__sameDocument = true; });
  fs.writeFileSync(readyFile, "ready\n");
  await page.waitForFunction((n) => {
    const imgs = [...document.querySelectorAll("#grid li.card .thumb img")];
    return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, { timeout: 90000, polling: 250 }, N);
  if (!(await page.evaluate(() => window.__sameDocument === true)))
    fail("the grid filled only after a reload");
  const widths = await page.$$eval("#grid .thumb img", (is) => is.map((i) => i.naturalWidth));
  if (widths.some((w) => w !== 256)) fail(`thumbnails are not 256 px wide: ${widths}`);
  await page.waitForFunction(() => /finished/.test(document.getElementById("live").textContent),
    { timeout: 10000 });
  await page.screenshot({ path: path.join(outDir, "batch.png"), fullPage: true });

  // 4. markup stays text
  const hostile = await page.evaluate(() => {
    const caps = [...document.querySelectorAll("#grid .cap")].map((c) => c.textContent);
    return {
      shown: caps.some((t) => t.includes("<img src=x onerror=")),
      injected: document.querySelectorAll('#grid img[src="x"], #grid script, #grid b.evil').length,
      pwned: window.__pwned === undefined ? null : window.__pwned,
    };
  });
  if (!hostile.shown) fail("the prompt with markup is not shown as text");
  if (hostile.injected || hostile.pwned !== null) fail("markup in a prompt was run: " + JSON.stringify(hostile));

  // 5. a job page, and the batch on a phone
  const jobHref = await page.$eval("#grid li.card a", (a) => a.getAttribute("href"));
  await page.click("#grid li.card a");
  await page.waitForSelector("img.poster", { timeout: 10000 });
  await page.waitForFunction(() => {
    const i = document.querySelector("img.poster");
    return i && i.complete && i.naturalWidth > 0;
  }, { timeout: 10000 });
  const spec = await page.$eval("pre", (p) => p.textContent);
  if (!spec.includes('"prompt"')) fail("the job page shows no spec");
  if (!jobHref.includes("/ui/jobs/")) fail("job link " + jobHref);
  await page.screenshot({ path: path.join(outDir, "job.png"), fullPage: true });

  await page.setViewport({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 1 });
  await page.goto(`${base}/ui/batches/${liveBatch}`, { waitUntil: "networkidle0" });
  await page.waitForSelector("#grid .thumb img");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  if (overflow) fail("the batch page scrolls sideways on a phone");
  await page.screenshot({ path: path.join(outDir, "batch-phone.png") });

  // Keyboard: the filter buttons are reachable and work.
  await page.focus('.filters button[data-state="succeeded"]');
  await page.keyboard.press("Enter");
  await page.waitForFunction(() =>
    document.querySelector('.filters button[data-state="succeeded"]').getAttribute("aria-pressed") === "true");

  // 6. With api_keys: the page asks for the key once, keeps it for the tab
  // (sessionStorage), sends it as x-api-key; thumbnails need no key.
  if (process.env.KEYED_BASE) {
    const kb = process.env.KEYED_BASE;
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${kb}/ui/batches/${liveBatch}`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("#keyform:not([hidden])", { timeout: 10000 });
    await page.type("#key", process.env.KEYED_KEY);
    await page.keyboard.press("Enter");
    await page.waitForFunction((n) => {
      const imgs = [...document.querySelectorAll("#grid .thumb img")];
      return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0);
    }, { timeout: 20000 }, N);
    await page.goto(`${kb}/ui/`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("table.batches tbody tr", { timeout: 10000 });
    if (await page.$eval("#keyform", (f) => !f.hidden)) fail("the key was asked for twice");
    await page.screenshot({ path: path.join(outDir, "keyed.png") });
    // The 401s before the key was given are expected; nothing else.
    for (let i = errors.length - 1; i >= 0; i--)
      if (/status of 401/.test(errors[i])) errors.splice(i, 1);
  }

  if (errors.length) fail("page errors:\n" + errors.join("\n"));
  console.log(`ok - ${N} thumbnails filled in live, cancel, markup as text, no page errors`);
} catch (e) {
  console.error("FAIL: " + e.message);
  if (errors.length) console.error(errors.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
}
