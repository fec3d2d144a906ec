// Drives the Live TV view of Haema's web page in headless Chromium: the channel list with
// what is on now and next, then the first channel on air plays live. Prints one JSON line.
// usage: node tv.mjs BASE_URL
import { launch } from './chromium.mjs';

const [base] = process.argv.slice(2);
const out = { ok: false };
const watchdog = setTimeout(() => { out.error = 'no verdict in 90 s'; console.log(JSON.stringify(out)); process.exit(1); }, 90000);
const browser = await launch();
const page = await browser.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
try {
  await page.goto(base + '/');
  await page.click('#tv');
  await page.waitForSelector('#channels li', { timeout: 15000 });
  out.channels = await page.$$eval('#channels li', (ls) => ls.map((l) => l.textContent));
  const t0 = Date.now();
  await page.click('#channels li:first-child');
  await page.waitForFunction(() => { const v = document.getElementById('player'); return v && v.currentTime > 0 && !v.paused; }, null, { timeout: 30000 });
  out.join_ms = Date.now() - t0;
  const c0 = await page.$eval('#player', (v) => v.currentTime);
  await page.waitForFunction((c) => document.getElementById('player').currentTime > c + 2, c0, { timeout: 20000 });
  out.played = (await page.$eval('#player', (v) => v.currentTime)) - c0;
  out.live = await page.evaluate(() => window.hls.levels[0].details.live);
  out.ok = errors.length === 0;
} catch (e) {
  out.error = String(e);
}
out.page_errors = errors;
clearTimeout(watchdog);
console.log(JSON.stringify(out));
await browser.close();
