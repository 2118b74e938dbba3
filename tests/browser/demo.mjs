// demo.mjs — `make demo-oobe`: follows the OOBE screen in headless chromium
// from the first screen to the last, writes a PNG of each screen it shows
// into LJ_OOBE_SHOTS, and plays the person: reads the sign-in code off the
// screen and approves it as the demo user (entra-sim's control API, as the
// phone would).  Prints one line per screen.
import { launch, closeAll, env, simCtl, log } from "./lib.mjs";

const b = await launch({ locale: process.env.OOBE_LOCALE || "en-US" });
let status = 0;
try {
  await b.open();
  let last = "";
  const t0 = Date.now();
  for (;;) {
    const h = await b.page.waitForFunction((prev) => {
      const s = document.getElementById("screen");
      const k = s && s.getAttribute("data-screen");
      const key = k + "|" + (document.getElementById("screen-title") || {}).textContent;
      return k && k !== "connecting" && key !== prev ? key : false;
    }, last, { timeout: 120000 });
    last = await h.jsonValue();
    const [name, title] = last.split("|");
    await b.shot(name);
    console.log(`  screen ${String(b.shotN).padStart(2, "0")}: ${name.padEnd(12)} ${title}`);
    if (name === "code") {
      const code = await b.text("#user-code");
      console.log(`           [on the phone] alice@contoso.example enters ${code} and approves`);
      await new Promise((r) => setTimeout(r, 1500));
      await simCtl("POST", "/control/devicecode/approve", { user_code: code, upn: "alice@contoso.example" });
    }
    if (name === "result" || name === "leaving") break;
    if (Date.now() - t0 > 300000) throw new Error("the flow took over 5 minutes");
  }
  await b.close();
} catch (e) {
  log(e.message);
  status = 1;
}
await closeAll();
console.log(`  pictures: ${env.shots}`);
process.exit(status);
