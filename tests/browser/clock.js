// The picture clock, read by the test pages (page.html with hls.js, players.html with video.js
// or shaka-player) from the first <video> on the page. Every fixture draws its frame number in
// binary along the bottom of its 640x360 picture: 20 blocks of 32x32, bit 0 at the left, white
// for 1 (fixtures/make-fixtures.sh). A rendition of another size is scaled back to 640x360.
window.clockAt = async (t) => {
  const v = document.querySelector('video');
  const timeout = (p, ms) => Promise.race([p, new Promise((r) => setTimeout(() => r('timeout'), ms))]);
  v.pause();
  const t0 = performance.now();
  const seeked = await timeout(new Promise((r) => { v.addEventListener('seeked', () => r('ok'), { once: true }); v.currentTime = t; }), 15000);
  const seekMs = Math.round(performance.now() - t0);
  await timeout(new Promise((r) => v.requestVideoFrameCallback(() => r())), 3000);
  await new Promise((r) => setTimeout(r, 150));
  return { t, at: v.currentTime, seeked: seeked === 'ok', seek_ms: seekMs, got: window.frameNumber() };
};
window.frameNumber = () => {
  const v = document.querySelector('video');
  let c = document.getElementById('clock-canvas');
  if (!c) {
    c = document.createElement('canvas');
    Object.assign(c, { id: 'clock-canvas', width: 640, height: 360 });
    c.style.display = 'none';
    document.body.appendChild(c);
  }
  const g = c.getContext('2d', { willReadFrequently: true });
  g.drawImage(v, 0, 0, 640, 360);
  const row = g.getImageData(0, 344, 640, 1).data;
  let n = 0;
  for (let i = 0; i < 20; i++) {
    const px = row.subarray((i * 32 + 16) * 4, (i * 32 + 16) * 4 + 3);
    if ((px[0] + px[1] + px[2]) / 3 >= 128) n += 2 ** i;
  }
  return n;
};
