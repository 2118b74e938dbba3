// lib.mjs — drives the OOBE screen in Debian's chromium (playwright-core,
// no browser download) for tests/integration/test_oobe_browser.sh.
//
// Every screen a test waits for is checked the same way (checkScreen): the
// new screen's heading has focus, axe-core finds no serious or critical
// violation (WCAG 2.1 A/AA rules), nothing scrolls sideways at 320 CSS px
// (a 640 px window at 200 % zoom), and PNGs (1024 and 320 CSS px wide) are
// written when LJ_OOBE_SHOTS names a directory.  The browser may reach only 127.0.0.1:
// every other host is refused and counted (offLoopback).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const env = {
  url: process.env.OOBE_URL || "",
  tokenFile: process.env.OOBE_TOKEN_FILE || "",
  simCtl: process.env.SIM_CTL || "",
  caseDir: process.env.CASE || ".",
  caseName: process.env.OOBE_CASE || "case",
  shots: process.env.LJ_OOBE_SHOTS || "",
  i18n: process.env.OOBE_I18N || "",
};

export class Skip extends Error {}

const launched = [];

// Close every browser still open (a case that failed half-way).
export async function closeAll() {
  for (const b of launched.splice(0)) await b.close().catch(() => {});
}

export function log(...a) {
  console.log("#", ...a);
}

export function assert(cond, msg) {
  if (!cond) throw new Error("assertion failed: " + msg);
}

export function assertEq(got, want, msg) {
  if (got !== want) throw new Error(`${msg}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

// The screen's own words in LOCALE as the build wrote them ({} without a catalog).
export function catalog(locale) {
  try {
    return JSON.parse(fs.readFileSync(path.join(env.i18n, locale + ".json"), "utf8"));
  } catch {
    return {};
  }
}

// POST/PUT/GET to entra-sim's control API (loopback; from node, not the browser).
export async function simCtl(method, p, body) {
  const r = await fetch(`http://127.0.0.1:${env.simCtl}${p}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status >= 400) throw new Error(`sim ${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export async function launch(opts = {}) {
  const args = [
    // nothing leaves loopback: no proxy from the environment, every name
    // but the loopback address fails to resolve, no background services
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
  ];
  // chromium's sandbox needs user namespaces that root does not get here
  if (process.getuid && process.getuid() === 0) args.push("--no-sandbox");
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args });
  const context = await browser.newContext({
    viewport: { width: 1024, height: 720 },
    locale: opts.locale || "en-US",
    reducedMotion: opts.reducedMotion || "no-preference",
  });
  const b = new Browser(browser, context);
  launched.push(browser);
  await b.init();
  return b;
}

class Browser {
  constructor(browser, context) {
    this.browser = browser;
    this.context = context;
    this.offLoopback = [];
    this.requests = 0;
    this.problems = [];
    this.shotN = 0;
  }

  async init() {
    await this.context.route("**/*", (route) => {
      const u = new URL(route.request().url());
      if (u.protocol === "data:" || u.hostname === "127.0.0.1") return route.continue();
      this.offLoopback.push(route.request().url());
      return route.abort("blockedbyclient");
    });
    this.context.on("request", () => this.requests++);
    // every screen the page shows, in order (a stale prompt would be seen here)
    await this.context.addInitScript(() => {
      window.__screens = [];
      const seen = () => {
        const s = document.getElementById("screen");
        const k = s ? s.getAttribute("data-screen") : "";
        if (k && window.__screens[window.__screens.length - 1] !== k) window.__screens.push(k);
      };
      document.addEventListener("DOMContentLoaded", () => {
        seen();
        new MutationObserver(seen).observe(document.getElementById("main"), { childList: true, subtree: false });
      });
    });
    this.page = await this.context.newPage();
    this.page.on("pageerror", (e) => this.problems.push("page error: " + e.message));
    this.page.on("console", (m) => {
      const t = m.text();
      // a CSP refusal means inline script or style crept in
      if (/Content Security Policy|Refused to/i.test(t)) this.problems.push("console: " + t);
    });
  }

  // Open the screen as the kiosk does: ?t=<token> once, then the cookie.
  async open() {
    const token = fs.readFileSync(env.tokenFile, "utf8").trim();
    const resp = await this.page.goto(`${env.url}?t=${token}`, { waitUntil: "domcontentloaded" });
    assertEq(resp.status(), 200, "first page load");
    assert(!this.page.url().includes("t="), "the token is dropped from the address: " + this.page.url());
  }

  async reload() {
    await this.page.reload({ waitUntil: "domcontentloaded" });
  }

  // Wait for a screen (data-screen) and check it; returns its heading text.
  async screen(name, timeout = 90000) {
    try {
      await this.page.waitForSelector(`#screen[data-screen="${name}"]`, { timeout });
    } catch (e) {
      const now = await this.page.evaluate(() => {
        const s = document.getElementById("screen");
        return (s ? s.getAttribute("data-screen") : "?") + ": " + document.body.innerText.slice(0, 600);
      });
      throw new Error(`screen ${name} not shown; seen ${JSON.stringify(await this.screens())}; now ${now}`);
    }
    return this.checkScreen(name);
  }

  async screens() {
    return this.page.evaluate(() => window.__screens || []);
  }

  // focus: false when the test moved focus itself (same screen, opened parts).
  async checkScreen(name, { focus = true } = {}) {
    const page = this.page;
    // the new screen's heading has focus (a screen reader starts there)
    if (focus) await page.waitForFunction(() => document.activeElement && document.activeElement.id === "screen-title", null, { timeout: 5000 })
      .catch(async () => {
        const a = await page.evaluate(() => document.activeElement && (document.activeElement.id || document.activeElement.tagName));
        throw new Error(`${name}: focus is on ${a}, not the heading`);
      });
    const title = (await page.textContent("#screen-title")).trim();
    assert(title.length > 0, name + ": empty heading");
    await this.axe(name);
    await this.reflow(name);
    await this.shot(name);
    if (this.problems.length) throw new Error(this.problems.join("; "));
    return title;
  }

  async axe(name) {
    await this.page.evaluate(AXE_SOURCE + "\n;0");
    const res = await this.page.evaluate(() =>
      window.axe.run(document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
        resultTypes: ["violations"],
      })
    );
    const bad = res.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    if (bad.length) {
      throw new Error(`${name}: axe: ` + bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`).join("; "));
    }
    this.axeRuns = (this.axeRuns || 0) + 1;
  }

  // 320 CSS px wide (a 640 px window at 200 % zoom): nothing scrolls sideways.
  async reflow(name) {
    const page = this.page;
    const vp = page.viewportSize();
    await page.setViewportSize({ width: 320, height: 640 });
    const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (env.shots && name.indexOf("-") < 0) {
      fs.mkdirSync(env.shots, { recursive: true });
      const n = String(this.shotN + 1).padStart(2, "0");
      await page.screenshot({ path: path.join(env.shots, `${env.caseName}-${n}-${name}-320px.png`), fullPage: true });
    }
    await page.setViewportSize(vp);
    assert(over <= 0, `${name}: ${over} px of horizontal scroll at 320 CSS px`);
  }

  async shot(name) {
    if (!env.shots) return;
    fs.mkdirSync(env.shots, { recursive: true });
    const n = String(++this.shotN).padStart(2, "0");
    await this.page.screenshot({ path: path.join(env.shots, `${env.caseName}-${n}-${name}.png`), fullPage: true });
  }

  async text(sel) {
    return ((await this.page.textContent(sel)) || "").trim();
  }

  async close() {
    const off = this.offLoopback.length;
    await this.browser.close();
    assertEq(off, 0, "requests to hosts other than 127.0.0.1 (" + this.offLoopback.join(", ") + ")");
    assert(this.requests > 0, "the page made requests");
    log(`requests ${this.requests}, all to 127.0.0.1; axe runs ${this.axeRuns || 0}`);
  }
}
