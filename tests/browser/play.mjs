// Plays a static HLS tree in headless Chromium with hls.js; prints one JSON line.
// usage: node play.mjs DIR|--url URL [--seek FRACTION] [--audio N] [--subs N] [--level N] [--at T,T...] [--live SECS]
// --live: a live playlist: play SECS seconds of wall time, sampling position and frame number.
// --at: seek to each time in turn and read the frame number drawn in the picture (clock.js).
// DIR is served over HTTP on 127.0.0.1 together with the test page and hls.js (one origin);
// with --url the page (on its own origin) plays that master playlist: CORS must allow it.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { launch } from './chromium.mjs';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const argv = process.argv.slice(2);
const dir = argv[0] === '--url' ? null : path.resolve(argv[0]);
const opt = (k, d) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
const types = { '.m3u8': 'application/vnd.apple.mpegurl', '.mp4': 'video/mp4', '.m4s': 'video/iso.segment', '.html': 'text/html', '.js': 'text/javascript' };

const requests = [];
const server = http.createServer((req, res) => {
  const u = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file;
  if (u === '/') file = path.join(here, 'page.html');
  else if (u === '/_test/hls.js') file = require.resolve('hls.js/dist/hls.min.js');
  else if (u === '/_test/clock.js') file = path.join(here, 'clock.js');
  else if (dir) file = path.join(dir, path.normalize(u).replace(/^([/\\])+/, ''));
  else { res.writeHead(404); res.end(); return; }
  if (dir && !file.startsWith(dir) && !file.startsWith(here) && !file.includes('node_modules')) { res.writeHead(403); res.end(); return; }
  fs.readFile(file, (err, data) => {
    requests.push(u);
    if (err) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
    res.end(data);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const out = { ok: false };
const watchdog = setTimeout(() => { out.error = 'no verdict in 120 s'; console.log(JSON.stringify(out)); process.exit(1); }, 120000);
const browser = await launch();
const page = await browser.newPage();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (expr, ms) => { const t0 = Date.now(); while (Date.now() - t0 < ms) { if (await page.evaluate(expr)) return Date.now() - t0; await sleep(50); } return -1; };
const V = "document.getElementById('v')";
try {
  await page.goto(`${base}/`);
  await page.evaluate((u) => window.play(u), opt('--url') ?? `${base}/master.m3u8`);
  out.start_ms = await until(`${V}.currentTime > 0.3`, 30000);
  if (out.start_ms < 0) throw new Error('playback did not start in 30 s');
  out.duration = await page.evaluate(`${V}.duration`);
  out.start_uri = await page.evaluate(() => window.startUri);
  out.levels = await page.evaluate(() => window.hls.levels.map((l) => ({ codecs: [l.videoCodec, l.audioCodec].filter(Boolean).join(','), w: l.width })));
  out.audio_tracks = await page.evaluate(() => window.hls.audioTracks.map((a) => a.lang));
  if (opt('--audio') !== undefined) await page.evaluate((n) => { window.hls.audioTrack = n; }, Number(opt('--audio')));
  if (opt('--subs') !== undefined) await page.evaluate((n) => { window.hls.subtitleTrack = n; window.hls.subtitleDisplay = true; }, Number(opt('--subs')));
  if (opt('--level') !== undefined) {
    // Switch quality in the middle of playback: the next segments come from another variant.
    await page.evaluate((n) => { window.hls.nextLevel = n; }, Number(opt('--level')));
    const t0 = await page.evaluate(`${V}.currentTime`);
    out.switch_ms = await until(`${V}.currentTime > ${t0 + 4.5}`, 30000);
    out.level_after_switch = await page.evaluate(() => window.hls.currentLevel);
  }
  if (opt('--live')) {
    // A live channel: watch SECS of wall time, sampling the play position and the frame
    // number drawn in the picture (a programme change shows as the number starting again).
    const secs = Number(opt('--live'));
    out.samples = [];
    const t0 = Date.now();
    while (Date.now() - t0 < secs * 1000) {
      out.samples.push(await page.evaluate(() => ({ t: +document.getElementById('v').currentTime.toFixed(3), frame: window.frameNumber() })));
      await sleep(250);
    }
    out.played = out.samples.at(-1).t - out.samples[0].t;
    out.errors = await page.evaluate(() => window.errors);
    out.stalls = out.errors.filter((e) => /stall|hole/i.test(e.details) && e.t > 0.5);
    // Stalls are reported, and judged by the caller against where programmes change.
    out.ok = out.played > secs * 0.8 && !out.errors.some((e) => e.fatal);
  } else {
    const target = out.duration * Number(opt('--seek', '0.6'));
    await page.evaluate((t) => { document.getElementById('v').currentTime = t; }, target);
    out.seek_to = target;
    out.seek_ms = await until(`!${V}.seeking && ${V}.currentTime > ${target + 1.0}`, 30000);
    out.audio_track = await page.evaluate(() => window.hls.audioTrack);
    const q = await page.evaluate(() => { const v = document.getElementById('v'); const p = v.getVideoPlaybackQuality(); return { frames: p.totalVideoFrames, w: v.videoWidth, t: v.currentTime, audio_decoded_bytes: v.webkitAudioDecodedByteCount }; });
    Object.assign(out, q);
    if (opt('--at')) {
      out.clock = [];
      for (const t of opt('--at').split(',').map(Number)) out.clock.push(await page.evaluate((x) => window.clockAt(x), t));
    }
    if (opt('--subs') !== undefined) {
      // Until the cues around the playing position have arrived.
      out.subs_ms = await until(`Array.from(${V}.textTracks).some((t) => t.mode === 'showing' && t.cues
        && Array.from(t.cues).some((c) => Math.abs(c.startTime - ${V}.currentTime) < 4))`, 10000);
      out.subtitle_tracks = await page.evaluate(() => window.hls.subtitleTracks.map((t) => t.lang));
      out.text_tracks = await page.evaluate(() => Array.from(document.getElementById('v').textTracks).map((t) => ({
        lang: t.language, mode: t.mode, cues: t.cues ? Array.from(t.cues).map((c) => [+c.startTime.toFixed(3), +c.endTime.toFixed(3), c.text]) : [],
      })));
    }
    out.errors = await page.evaluate(() => window.errors);
    // A stall or a jump over a hole in the buffer is a failure too, fatal or not: a viewer sees it.
    // Not the jump to the first picture before playback starts: with B-frames the video starts a
    // reorder delay after the audio, and hls.js may call stepping over that a hole.
    out.stalls = out.errors.filter((e) => /stall|hole/i.test(e.details) && e.t > 0.5);
    out.ok = out.seek_ms >= 0 && out.frames > 0 && out.w > 0 && !out.errors.some((e) => e.fatal) && out.stalls.length === 0
      && (!out.clock || out.clock.every((c) => c.seeked));
  }
} catch (e) {
  out.error = String(e);
  out.errors = await page.evaluate(() => window.errors).catch(() => null);
}
out.requests = requests.length;
out.requested = requests;
clearTimeout(watchdog);
await browser.close();
server.close();
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
