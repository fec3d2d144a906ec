// Drives Haema's own web page in headless Chromium: library, series, player, resume, audio and
// subtitle selection, progress saved. Prints one JSON line.
// usage: node page.mjs BASE_URL|PAGE_URL RESUME_TITLE (a PAGE_URL has a query: ?token=...)
import { launch } from './chromium.mjs';

const [base, resumeTitle] = process.argv.slice(2);
const out = { ok: false };
const watchdog = setTimeout(() => { out.error = 'no verdict in 120 s'; console.log(JSON.stringify(out)); process.exit(1); }, 120000);
const browser = await launch();
const page = await browser.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
try {
  await page.goto(base.includes('?') ? base : base + '/');
  await page.waitForSelector('#library .card', { timeout: 15000 });
  out.titles = await page.$$eval('#library .card', (cs) => cs.map((c) => c.dataset.title));

  // Resume: this film has a saved position; the player starts there.
  await page.click(`#library .card[data-title="${resumeTitle}"]`);
  await page.waitForFunction(() => document.getElementById('player') && document.getElementById('player').currentTime > 0.3, null, { timeout: 30000 });
  out.resumed_at = await page.$eval('#player', (v) => v.currentTime);
  out.start_level = await page.evaluate(() => window.hls.levels[window.hls.startLevel].uri);

  // A series: its episodes, then the first one plays; switch audio and subtitles.
  await page.click('#home');
  await page.waitForSelector('#library .card[data-title="Clockwork"]');
  await page.click('#library .card[data-title="Clockwork"]');
  await page.waitForSelector('#episodes li');
  out.episodes = await page.$$eval('#episodes li', (ls) => ls.map((l) => l.textContent));
  await page.click('#episodes li:first-child');
  await page.waitForFunction(() => document.getElementById('player').currentTime > 1, null, { timeout: 30000 });
  out.audio_options = await page.$$eval('#audio option', (os) => os.map((o) => o.textContent));
  out.subtitle_options = await page.$$eval('#subs option', (os) => os.map((o) => o.textContent));
  await page.selectOption('#audio', '1');
  await page.selectOption('#subs', '0');
  const t0 = await page.$eval('#player', (v) => v.currentTime);
  await page.waitForFunction((t) => document.getElementById('player').currentTime > t + 3, t0, { timeout: 30000 });
  out.audio_track = await page.evaluate(() => window.hls.audioTrack);
  out.text_track_modes = await page.$eval('#player', (v) => Array.from(v.textTracks).map((t) => t.mode));
  await page.$eval('#player', (v) => v.pause());
  await sleep(1000);
  out.paused_at = await page.$eval('#player', (v) => v.currentTime);
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
