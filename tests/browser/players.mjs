// Plays a master playlist in headless Chromium with video.js (VHS) or shaka-player; prints one
// JSON line. usage: node players.mjs --player videojs|shaka --url URL|--dir DIR --at T,T... [--audio LANG]
// --dir: plays DIR/master.m3u8, a static tree served from the page's own origin.
// --audio: switch to the audio rendition in that language once playing, before the seeks.
// --subs LANG: show that subtitle track first; the report lists the cues of showing tracks.
// --live SECS: a live playlist: play SECS of wall time, sampling position and frame clock.
// It waits for playback, then seeks to each time in turn (the test asks forward, back into an
// early segment and near the end) and reads the frame number drawn in the picture (clock.js).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { launch } from './chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
const which = opt('--player', 'videojs');
const files = {
  '/': [path.join(here, 'players.html'), 'text/html'],
  '/_test/player.js': [which === 'shaka'
    ? require.resolve('shaka-player/dist/shaka-player.compiled.js')
    : require.resolve('video.js/dist/video.min.js'), 'text/javascript'],
  '/_test/video-js.css': [require.resolve('video.js/dist/video-js.min.css'), 'text/css'],
  '/_test/clock.js': [path.join(here, 'clock.js'), 'text/javascript'],
};
const dir = opt('--dir') && path.resolve(opt('--dir'));
const server = http.createServer((req, res) => {
  const u = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let f = files[u];
  if (!f && dir) {
    const file = path.join(dir, path.normalize(u));
    if (file.startsWith(dir + path.sep) && fs.existsSync(file)) f = [file, 'application/octet-stream'];
  }
  if (!f) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': f[1] });
  res.end(fs.readFileSync(f[0]));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));

const out = { player: which, ok: false };
const watchdog = setTimeout(() => { out.error = 'no verdict in 120 s'; console.log(JSON.stringify(out)); process.exit(1); }, 120000);
const browser = await launch();
const page = await browser.newPage();
// What the player fetched and logged, reported when it fails: a stall without an error says
// nothing by itself.
const t00 = Date.now();
const net = [];
const logs = [];
page.on('request', (r) => net.push({ t: Date.now() - t00, url: r.url().replace(/^http:\/\/[^/]+/, ''), status: null }));
page.on('requestfinished', async (r) => { const e = net.find((x) => x.url === r.url().replace(/^http:\/\/[^/]+/, '') && x.status === null); if (e) { e.status = (await r.response())?.status(); e.done = Date.now() - t00; } });
page.on('requestfailed', (r) => { const e = net.find((x) => x.url === r.url().replace(/^http:\/\/[^/]+/, '') && x.status === null); if (e) { e.status = r.failure()?.errorText || 'failed'; e.done = Date.now() - t00; } });
page.on('console', (m) => { logs.push(`${Date.now() - t00} ${m.type()}: ${m.text()}`.slice(0, 300)); if (logs.length > 80) logs.shift(); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (expr, ms) => { const t0 = Date.now(); while (Date.now() - t0 < ms) { if (await page.evaluate(expr)) return Date.now() - t0; await sleep(50); } return -1; };
try {
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  // video.js says what VHS decides (kept only for a failure's report).
  await page.evaluate(() => window.videojs && videojs.log.level('debug'));
  const url = opt('--url') ?? `http://127.0.0.1:${server.address().port}/master.m3u8`;
  await page.evaluate((u) => window.play(u), url);
  out.start_ms = await until('window.video().currentTime > 0.3', 20000);
  if (out.start_ms < 0) {
    // Seen in CI only (video.js, the HEVC film through its H.264 rung, the one variant
    // Chromium can play): no start and no error. video.js does that after any one failed
    // segment request when no other variant is left to switch to (it "switches" to the same
    // playlist and never asks again). Record what the element, the network and VHS say, then
    // do what a viewer would: press play, and then reload.
    out.stuck = await page.evaluate(() => { const v = window.video(); return { readyState: v.readyState, networkState: v.networkState, paused: v.paused, buffered: Array.from({ length: v.buffered.length }, (_, i) => [v.buffered.start(i), v.buffered.end(i)]), error: v.error && v.error.message }; });
    out.stuck.requests = net.filter((r) => !r.url.startsWith('/_test') && !r.url.startsWith('blob:'));
    out.stuck.console = logs.filter((l) => !l.includes('DEBUG')).slice(-20);
    await page.evaluate(() => { window.video().play().catch(() => {}); });
    out.start_ms = await until('window.video().currentTime > 0.3', 10000);
    if (out.start_ms < 0 && which === 'videojs') {
      out.stuck.reloaded = true;
      await page.evaluate((u) => { window.vjs.src({ src: u, type: 'application/x-mpegURL' }); window.vjs.play().catch(() => {}); }, url);
      out.start_ms = await until('window.video().currentTime > 0.3', 20000);
      // The reload interrupts the first play() (an AbortError), as it does for a viewer.
      await page.evaluate(() => { window.errors = window.errors.filter((e) => !e.details.startsWith('play(): AbortError')); });
    }
    if (out.start_ms < 0) throw new Error(`playback did not start: ${JSON.stringify(out.stuck)}`);
  }
  out.duration = await page.evaluate('window.video().duration');
  if (opt('--live')) {
    // A live channel: watch SECS of wall time, sampling the play position and the frame
    // number drawn in the picture (a programme change shows as the number starting again).
    const secs = Number(opt('--live'));
    out.samples = [];
    const t0 = Date.now();
    while (Date.now() - t0 < secs * 1000) {
      out.samples.push(await page.evaluate(() => ({ t: +window.video().currentTime.toFixed(3), frame: window.frameNumber() })));
      await sleep(250);
    }
    out.played = out.samples.at(-1).t - out.samples[0].t;
    out.errors = await page.evaluate(() => window.errors);
    out.media_error = await page.evaluate(() => window.video().error && window.video().error.message);
    out.ok = out.played > secs * 0.8 && !out.errors.some((e) => e.fatal);
  } else {
    if (opt('--audio')) {
      out.audio_languages = await page.evaluate((l) => window.selectAudio(l), opt('--audio'));
      const short = new Intl.Locale(opt('--audio')).language;
      out.audio_switch_ms = await until(`['${opt('--audio')}', '${short}'].includes(window.audioLanguage())`, 10000);
    }
    if (opt('--subs')) {
      await page.evaluate((l) => window.selectText(l), opt('--subs'));
      out.subs_ms = await until('window.shownCues().some((t) => t.cues.length > 0)', 10000);
    }
    out.clock = [];
    for (const t of (opt('--at') || '').split(',').filter(Boolean).map(Number)) {
      out.clock.push(await page.evaluate((x) => window.clockAt(x), t));
    }
    // And it plays on after the last seek.
    const t0 = await page.evaluate('window.video().currentTime');
    await page.evaluate('window.video().play()');
    out.plays_on_ms = await until(`window.video().currentTime > ${Math.min(t0 + 0.5, out.duration - 0.2)}`, 15000);
    out.audio_language = await page.evaluate(() => window.audioLanguage());
    if (opt('--subs')) out.text_tracks = await page.evaluate(() => window.shownCues());
    out.errors = await page.evaluate(() => window.errors);
    out.ok = out.plays_on_ms >= 0 && !out.errors.some((e) => e.fatal)
      && out.clock.every((c) => c.seeked);
  }
} catch (e) {
  out.error = String(e);
  out.errors = await page.evaluate(() => window.errors).catch(() => null);
}
clearTimeout(watchdog);
if (!out.ok) { out.requests = net.filter((r) => !r.url.startsWith('/_test') && !r.url.startsWith('blob:')); out.console = logs; }
await browser.close();
server.close();
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
