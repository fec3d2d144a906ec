// The picture clock, read by the test pages (page.html with hls.js, players.html with video.js
// or shaka-player): the first <video> on the page, and a 64x64 canvas #c to read it through.
// The clock block (top-left 64x64) is grey at 16 + 28 * (floor(t) mod 8): read it back at time t.
window.clockAt = async (t) => {
  const v = document.querySelector('video');
  const timeout = (p, ms) => Promise.race([p, new Promise((r) => setTimeout(() => r('timeout'), ms))]);
  v.pause();
  const seeked = await timeout(new Promise((r) => { v.addEventListener('seeked', () => r('ok'), { once: true }); v.currentTime = t; }), 15000);
  await timeout(new Promise((r) => v.requestVideoFrameCallback(() => r())), 3000);
  await new Promise((r) => setTimeout(r, 150));
  const c = document.getElementById('c').getContext('2d', { willReadFrequently: true });
  c.drawImage(v, 0, 0, 64, 64, 0, 0, 64, 64);
  const px = c.getImageData(32, 32, 1, 1).data;
  const luma = (px[0] + px[1] + px[2]) / 3;
  // Full-range RGB of limited-range luma Y: (Y - 16) * 255 / 219.
  const level = Math.round((luma * 219) / 255 / 28) % 8;
  return { t: v.currentTime, seeked: seeked === 'ok', want: Math.floor(v.currentTime) % 8, got: level };
};
