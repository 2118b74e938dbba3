// run.mjs CASE — one browser case of tests/integration/test_oobe_browser.sh.
//
// The shell script has started entra-sim, swtpm, the agent (--ui socket)
// and linkjoin-oobe for the case, set up the simulator's side, and passes
// OOBE_URL, OOBE_TOKEN_FILE, SIM_CTL, CASE, LINKJOIN, LJ_PID.  Here a person
// is played in chromium: read the code off the screen and approve it (as
// on a phone: entra-sim's control API), type a password, press Try again.
// Exit 0 = pass, 1 = fail, 3 = skip (reason on stdout, "# SKIP reason").
import fs from "node:fs";
import { spawn } from "node:child_process";
import { launch, closeAll, env, simCtl, catalog, assert, assertEq, log, Skip } from "./lib.mjs";

const USER = "alice@contoso.example";
const PASSWORD = "Demo-Passw0rd!";
const EN = catalog("en");
const en = (id, fallback) => EN[id] || fallback;

async function approveShownCode(b) {
  const code = await b.text("#user-code");
  assert(/^[A-Z0-9]{6,12}$/.test(code), "a user code on the screen: " + code);
  await simCtl("POST", "/control/devicecode/approve", { user_code: code, upn: USER });
  return code;
}

async function protocol(b) {
  return b.page.evaluate(() => Number(document.documentElement.getAttribute("data-protocol") || 0));
}

const cases = {
  // Device code: the code, the address and the QR code on the screen; the
  // person approves; the join shows its progress (the simulator holds the
  // join request 3 s) and ends on "ready".
  async device_code_join() {
    const b = await launch();
    await b.open();
    await b.screen("code");
    const anim = await b.page.evaluate(() => getComputedStyle(document.querySelector(".waiting"), "::before").animationName);
    assertEq(anim, "pulse", "the waiting dot pulses (no reduced motion asked for)");
    const uri = await b.text("#screen .url");
    assertEq(uri, "https://microsoft.com/devicelogin", "verification address");
    const qr = await b.page.waitForFunction(() => {
      const i = document.querySelector(".qr img");
      return i && i.complete && i.naturalWidth;
    }, null, { timeout: 10000 });
    assert((await qr.jsonValue()) > 0, "the QR code image loaded from /qr.svg");
    assert(/\d/.test(await b.text(".countdown")), "a countdown");
    log("code", await approveShownCode(b));
    await b.page.waitForSelector('#screen[data-screen="progress"] .step:not(:empty)', { timeout: 60000 });
    const step = await b.text("#screen .step");
    // progress is read out by the polite live region
    const polite = await (await b.page.waitForFunction(() => document.getElementById("live-polite").textContent, null, { timeout: 5000 })).jsonValue();
    log("step:", step, "| announced:", polite);
    assertEq(await b.page.getAttribute("#live-polite", "aria-live"), "polite", "polite region");
    await b.checkScreen("progress");
    const title = await b.screen("result");
    assertEq(title, en("result.joined.title", "Your device is ready"), "result heading");
    assert((await b.text("#signed-in-as")).includes(USER), "signed in as the user");
    await b.close();
  },

  // Password sign-in with the keyboard only: Tab order, Space on the
  // show/hide button, Enter submits; the password leaves no trace.
  async password_join_keyboard() {
    const b = await launch();
    await b.open();
    await b.screen("cred");
    const k = b.page.keyboard;
    const active = () => b.page.evaluate(() => document.activeElement.id);
    await k.press("Tab");
    assertEq(await active(), "username", "Tab from the heading");
    assertEq(await b.page.inputValue("#username"), USER, "username from the prompt");
    await k.press("Tab");
    assertEq(await active(), "password", "Tab to the password");
    await k.type(PASSWORD);
    await k.press("Tab");
    assertEq(await active(), "show-password", "Tab to show/hide");
    await k.press("Space");
    assertEq(await b.page.getAttribute("#password", "type"), "text", "shown");
    assertEq(await b.page.getAttribute("#show-password", "aria-pressed"), "true", "aria-pressed");
    await k.press("Space");
    assertEq(await b.page.getAttribute("#password", "type"), "password", "hidden again");
    await k.press("Tab");
    assertEq(await active(), "sign-in", "Tab to Sign in");
    await k.press("Shift+Tab");
    await k.press("Shift+Tab");
    assertEq(await active(), "password", "back to the password");
    await k.press("Enter");
    const title = await b.screen("result");
    assertEq(title, en("result.joined.title", "Your device is ready"), "result heading");
    const html = await b.page.content();
    assert(!html.includes(PASSWORD), "the password is not in the page");
    await b.close();
  },

  // The tenant lets nobody join: the failure with its plain message, what
  // to do, the code, and the admin details opened with the keyboard.
  async join_not_permitted() {
    const b = await launch();
    await b.open();
    await b.screen("code");
    await approveShownCode(b);
    const title = await b.screen("result");
    assertEq(title, en("result.failed.title", "Setup could not finish"), "heading");
    assert((await b.text("#result-message")).includes("not allowed to join"), "plain message");
    assertEq(await b.text("#next-action"), en("screen.contact_admin", "Contact your IT admin"), "what to do");
    assert((await b.text("#error-code")).includes("0x801c0003"), "error code");
    const urgent = await b.page.waitForFunction(() => document.getElementById("live-assertive").textContent, null, { timeout: 5000 });
    assert((await urgent.jsonValue()).includes("not allowed to join"), "the failure is announced (assertive)");
    assertEq(await b.page.evaluate(() => document.getElementById("admin-details").open), false, "details closed");
    await b.page.focus("#admin-details summary");
    await b.page.keyboard.press("Enter");
    assertEq(await b.page.evaluate(() => document.getElementById("admin-details").open), true, "details open (Enter)");
    const details = await b.text("#admin-details");
    assert(details.includes("Users may join devices"), "admin action: " + details);
    assert(details.includes("SIM-0001"), "serial");
    assert(details.includes(USER), "user");
    assert(/[0-9a-f]{8}-[0-9a-f]{4}-/.test(details), "a request id");
    await b.checkScreen("result-details", { focus: false });
    await b.close();
  },

  // A wrong password, Try again (keyboard), the right one: joined.
  async wrong_password_retry() {
    const b = await launch();
    await b.open();
    await b.screen("cred");
    // an empty password is refused by the page itself, with words
    await b.page.click("#sign-in");
    assertEq(await b.page.getAttribute("#password", "aria-invalid"), "true", "empty password marked");
    assert((await b.text("#err-pw")).length > 0, "empty password explained");
    await b.page.fill("#password", "not-the-password");
    await b.page.keyboard.press("Enter");
    const title = await b.screen("result");
    assertEq(title, en("result.failed.title", "Setup could not finish"), "heading");
    assert((await b.text("#result-message")).length > 0, "plain message");
    assert((await b.text("#error-code")).includes("AADSTS50126"), "the service's code (wrong_password has none of ours)");
    await b.page.keyboard.press("Tab");
    assertEq(await b.page.evaluate(() => document.activeElement.id), "retry", "Tab reaches Try again");
    await b.page.keyboard.press("Enter");
    await b.screen("cred");
    assertEq(await b.page.inputValue("#password"), "", "a new, empty password field");
    await b.page.fill("#password", PASSWORD);
    await b.page.keyboard.press("Enter");
    assertEq(await b.screen("result"), en("result.joined.title", "Your device is ready"), "second result");
    const seen = await b.screens();
    log("screens", seen.join(" "));
    await b.close();
  },

  // Intune answers 503: joined, device management pending ("Almost done").
  // The person asked for reduced motion: nothing on the screen moves.
  async mdm_pending() {
    const b = await launch({ reducedMotion: "reduce" });
    await b.open();
    await b.screen("code");
    const anim = await b.page.evaluate(() => getComputedStyle(document.querySelector(".waiting"), "::before").animationName);
    assertEq(anim, "none", "no pulsing dot with reduced motion");
    await approveShownCode(b);
    const title = await b.screen("result");
    assertEq(title, en("result.joined_mdm_pending.title", "Almost done"), "heading");
    assert((await b.text("#result-message")).length > 0, "what happens next");
    // the mdm-retry timer's 1800 s, in minutes (29 or 30, as the clock turns)
    assert(/^Trying again in (29|30) min$/.test(await b.text("#next-action")), "retry in minutes");
    await b.close();
  },

  // Intune refuses (no licence): the device is joined, the IT admin must
  // finish it ("Almost done" with what the admin does).
  async intune_refused() {
    const b = await launch();
    await b.open();
    await b.screen("code");
    await approveShownCode(b);
    const title = await b.screen("result");
    assertEq(title, en("result.joined_incomplete.title", "Almost done"), "heading");
    assert((await b.text("#result-message")).length > 0, "the reason in plain words");
    assertEq(await b.text("#next-action"), en("screen.contact_admin", "Contact your IT admin"), "what to do");
    assert((await b.text("#error-code")).includes("0x80180018"), "error code");
    await b.page.click("#admin-details summary");
    assert((await b.text("#admin-details")).length > 40, "admin details");
    await b.checkScreen("result-details", { focus: false });
    await b.close();
  },

  // The page is reloaded after sign-in, while the join runs: the answered
  // prompt never comes back; the flow ends on "ready".
  async reload_after_signin() {
    const b = await launch();
    await b.open();
    await b.screen("code");
    await approveShownCode(b);
    await b.screen("progress");
    await b.reload();
    const title = await b.screen("result");
    assertEq(title, en("result.joined.title", "Your device is ready"), "result heading");
    const seen = await b.screens();
    log("screens after the reload:", seen.join(" "));
    assert(!seen.includes("code") && !seen.includes("cred"), "no stale prompt after the reload: " + seen.join(" "));
    await b.close();
  },

  // The agent dies while the code is shown: "Reconnecting…"; a new agent
  // comes up on the same socket and the screen follows it to the end.
  async agent_restart() {
    const b = await launch();
    await b.open();
    await b.screen("code");
    const first = await b.text("#user-code");
    process.kill(Number(process.env.LJ_PID), "SIGKILL");
    assertEq(await b.screen("reconnecting"), en("screen.reconnecting", "Reconnecting to the setup service"), "heading");
    assertEq(await b.page.isVisible("#user-code"), false, "the old code is gone");
    const out = fs.openSync(`${env.caseDir}/agent2.log`, "a");
    const agent = spawn(process.env.LINKJOIN, ["run", "--config", `${env.caseDir}/lj.conf`], {
      stdio: ["ignore", out, out],
    });
    fs.appendFileSync(`${env.caseDir}/pids`, agent.pid + "\n");
    await b.page.waitForFunction((c) => {
      const e = document.getElementById("user-code");
      return e && e.textContent !== c;
    }, first, { timeout: 60000 });
    await b.checkScreen("code");
    await approveShownCode(b);
    assertEq(await b.screen("result"), en("result.joined.title", "Your device is ready"), "result heading");
    await b.close();
  },

  // The first request to the service is held 8 s: the screen says it is
  // checking the device, then shows the sign-in code.
  async checking_device() {
    const b = await launch();
    await b.open();
    await b.page.waitForSelector('#screen[data-screen="checking"] .step:not(:empty)', { timeout: 60000 });
    assert((await b.text("#screen .step")).length > 0, "a step text");
    const title = await b.checkScreen("checking");
    assertEq(title, en("screen.checking_device", "Checking the device"), "heading");
    await b.screen("code");
    await b.close();
  },

  // German: the screen's words and the agent's texts in German, lang="de".
  async german() {
    await localeCase("de-DE", "de");
  },

  // Japanese: the same, drawn with a Japanese font (not boxes).
  async japanese() {
    await localeCase("ja-JP", "ja");
  },

  // v2: the service is busy; the notice counts down; then joined.
  async notice_service_busy() {
    const b = await launch();
    await b.open();
    await b.screen("code");
    if ((await protocol(b)) < 2) throw new Skip("the agent speaks UI protocol 1 (no notice events)");
    await approveShownCode(b);
    await b.page.waitForSelector("#notice:not([hidden])", { timeout: 60000 });
    const n = await b.text("#notice");
    assert(/\d/.test(n), "the notice says when: " + n);
    const live = await b.text("#live-polite");
    log("notice:", n, "| live:", live);
    await b.checkScreen("progress-notice", { focus: false });
    assertEq(await b.screen("result"), en("result.joined.title", "Your device is ready"), "result heading");
    await b.close();
  },

  // v2: the retry window closes after a failure: the leaving screen.
  async leaving_after_failure() {
    const b = await launch();
    await b.open();
    await b.screen("cred");
    if ((await protocol(b)) < 2) throw new Skip("the agent speaks UI protocol 1 (no leaving event)");
    await b.page.fill("#password", "not-the-password");
    await b.page.keyboard.press("Enter");
    await b.screen("result");
    // the retry window (2 s) closes: the agent says so and leaves; the
    // failure's details stay below its words, Try again is gone
    const title = await b.screen("leaving");
    assert(title.length > 0, "leaving heading");
    assertEq(await b.text("#result-title"), en("result.failed.title", "Setup could not finish"), "the failure below");
    assert((await b.text("#error-code")).includes("AADSTS50126"), "its code");
    assertEq(await b.page.isVisible("#retry"), false, "no Try again after the agent left");
    await b.close();
  },
};

async function localeCase(tag, l) {
  const cat = catalog(l);
  if (!cat["screen.title"]) throw new Skip(`no ${l} catalog in ${env.i18n} (linkjoin messages)`);
  if (cat["screen.title"] === EN["screen.title"]) throw new Skip(`the ${l} catalog is not translated yet`);
  const b = await launch({ locale: tag });
  await b.open();
  await b.screen("code");
  assertEq(await b.page.getAttribute("html", "lang"), l, "html lang");
  assertEq(await b.text("#screen-title"), cat["prompt.device_code.title"], "heading in " + l);
  assertEq(await b.text("#brand"), cat["screen.title"], "the screen's title in " + l);
  // the text is drawn with a font that has the glyphs
  const cdp = await b.context.newCDPSession(b.page);
  await cdp.send("DOM.enable");
  await cdp.send("CSS.enable");
  const doc = await cdp.send("DOM.getDocument");
  const h = await cdp.send("DOM.querySelector", { nodeId: doc.root.nodeId, selector: "#screen-title" });
  const fonts = (await cdp.send("CSS.getPlatformFontsForNode", { nodeId: h.nodeId })).fonts;
  log("fonts for the heading:", fonts.map((f) => `${f.familyName} (${f.glyphCount})`).join(", "));
  if (l === "ja") assert(fonts.some((f) => /IPA|Noto Sans CJK|Droid/i.test(f.familyName)), "a Japanese font draws the heading");
  await approveShownCode(b);
  assertEq(await b.screen("result"), cat["result.joined.title"], "result heading in " + l);
  await b.close();
}

const name = process.argv[2];
if (!cases[name]) {
  console.log("# unknown case " + name);
  process.exit(2);
}
try {
  await cases[name]();
  await closeAll();
  process.exit(0);
} catch (e) {
  await closeAll();
  if (e instanceof Skip) {
    console.log("# SKIP " + e.message);
    process.exit(3);
  }
  console.log("# " + (e.stack || e.message).split("\n").join("\n# "));
  process.exit(1);
}
