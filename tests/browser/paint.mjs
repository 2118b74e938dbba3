// paint.mjs N — `make bench` measurement oobe_paint: loads the OOBE screen
// from linkjoin-oobe (OOBE_URL, OOBE_TOKEN_FILE) N times in one headless
// chromium, each time in a new tab with the session cookie (the first,
// token-exchanging load is not counted), and prints per load one line
// "FCP_MS LOAD_MS": the paint timing's first-contentful-paint and the
// navigation's loadEventEnd, both from navigation start.
import { launch, closeAll } from "./lib.mjs";

const n = Number(process.argv[2] || 20);
const b = await launch();
await b.open();
await b.page.close();
for (let i = 0; i < n; i++) {
  const page = await b.context.newPage();
  await page.goto(process.env.OOBE_URL, { waitUntil: "load" });
  const t = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const done = () => {
          const p = performance.getEntriesByName("first-contentful-paint")[0];
          const nav = performance.getEntriesByType("navigation")[0];
          if (p) resolve([p.startTime, nav ? nav.loadEventEnd : 0]);
          else setTimeout(done, 20);
        };
        done();
      })
  );
  console.log(t[0].toFixed(1) + " " + t[1].toFixed(1));
  await page.close();
}
await b.close();
await closeAll();
