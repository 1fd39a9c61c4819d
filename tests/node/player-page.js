// What the browser harnesses (play-failover.js, play-protected.js, play-codecs.js) share: a loopback
// HTTP server for the test page and the player libraries from node_modules, headless Chromium, and
// the wait for a page's video to play.
'use strict';
const http = require('http');
const path = require('path');
const fs = require('fs');
const { chromium } = require('playwright-core');

// The player libraries a page may load, by the path it loads them from.
const libraries = {
  '/hls.js': path.join(__dirname, 'node_modules/hls.js/dist/hls.min.js'),
  '/dash.js': path.join(__dirname, 'node_modules/dashjs/dist/modern/umd/dash.all.min.js'),
  '/shaka.js': path.join(__dirname, 'node_modules/shaka-player/dist/shaka-player.compiled.js'),
};

// Serves `page` at / and the libraries on 127.0.0.1 at a free port; resolves to the listening server.
function servePage(page) {
  const server = http.createServer((req, res) => {
    const url = req.url.split('?')[0];
    if (url === '/' || url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
    } else if (libraries[url]) {
      // A library missing from node_modules (npm ci not run) is a 500 naming it, not a crash.
      const stream = fs.createReadStream(libraries[url]);
      stream.on('error', (e) => { res.writeHead(500, { 'content-type': 'text/plain' }); res.end(String(e.message)); });
      stream.on('open', () => { res.writeHead(200, { 'content-type': 'text/javascript' }); stream.pipe(res); });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// Headless Chromium ($CHROMIUM or /usr/bin/chromium) that autoplays without a gesture.
function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls the page's <video id="v"> until it played `playSeconds`, the page set window.state.fatal, or
// `timeoutSeconds` passed; resolves to { t, state } (the last currentTime and window.state).
async function playUntil(tab, playSeconds, timeoutSeconds) {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const t = await tab.evaluate(() => document.getElementById('v').currentTime);
    const state = await tab.evaluate(() => window.state);
    if (t >= playSeconds || state.fatal || Date.now() > deadline) { return { t, state }; }
    await sleep(100);
  }
}

// Runs `steps(browser, result)` in a launched Chromium and prints `RESULT {json}` however it ends:
// `result.ok` true when the steps finished, else `result.error` says why.
async function runInChromium(steps) {
  const result = { ok: false, consoleErrors: [] };
  const browser = await launchChromium();
  try {
    await steps(browser, result);
    result.ok = true;
  } catch (e) {
    result.error = String((e && e.stack) || e);
  } finally {
    await browser.close();
  }
  console.log('RESULT ' + JSON.stringify(result));
}

module.exports = { servePage, launchChromium, playUntil, sleep, runInChromium };
