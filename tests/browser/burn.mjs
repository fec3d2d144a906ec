// Haema's web page with a film that has a bitmap subtitle track (PGS, VobSub, DVB): the track
// is in the subtitle menu, choosing it plays its burned-in master, and the picture is read at
// two times: its middle row through the cue box of tests/corpus/sup.py, grey, at 640x360, and
// the frame number. Prints one JSON line.
// usage: node burn.mjs BASE_URL TITLE IN_CUE_SECS OUTSIDE_SECS
import { launch } from './chromium.mjs';

const [base, title, inCue, outside] = process.argv.slice(2);
const out = { ok: false };
const watchdog = setTimeout(() => { out.error = 'no verdict in 150 s'; console.log(JSON.stringify(out)); process.exit(1); }, 150000);
const browser = await launch();
const page = await browser.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
try {
  await page.goto(base + '/');
  await page.waitForSelector(`#library .card[data-title="${title}"]`, { timeout: 15000 });
  await page.click(`#library .card[data-title="${title}"]`);
  await page.waitForFunction(() => [...document.querySelectorAll('#subs option')].some((o) => o.textContent.includes('burned in')), null, { timeout: 30000 });
  out.subtitle_options = await page.$$eval('#subs option', (os) => os.map((o) => o.textContent));
  const value = await page.$$eval('#subs option', (os) => os.find((o) => o.textContent.includes('burned in')).value);
  await page.selectOption('#subs', value);
  await page.waitForFunction(() => window.hls && /master-burn-\d+\.m3u8/.test(window.hls.url || '')
    && document.getElementById('player') && document.getElementById('player').currentTime > 0.2, null, { timeout: 60000 });
  out.url = await page.evaluate(() => window.hls.url);
  out.selected = await page.$eval('#subs', (s) => s.options[s.selectedIndex].textContent);
  // Seeks (clock.js: waits for the picture of the new time) and reads the clock and the box's
  // middle row.
  await page.addScriptTag({ path: new URL('./clock.js', import.meta.url).pathname });
  const look = async (t) => {
    const at = await page.evaluate((t) => window.clockAt(t), Number(t));
    const row = await page.evaluate(() => {
      const g = document.getElementById('clock-canvas').getContext('2d', { willReadFrequently: true });
      const d = g.getImageData(200, 264, 240, 1).data;
      return Array.from({ length: d.length / 4 }, (_, i) => Math.round((d[i * 4] + d[i * 4 + 1] + d[i * 4 + 2]) / 3));
    });
    return { ...at, frame: at.got, row };
  };
  out.in_cue = await look(inCue);
  out.outside = await look(outside);
  out.errors = errors;
  out.ok = errors.length === 0;
} catch (e) {
  out.error = String(e);
  out.errors = errors;
}
clearTimeout(watchdog);
await browser.close();
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
