// host.setHTML(target, html): the sanitized tree built into the target node by node (the
// sanitizer module's tree.js), on the e2e host page under the host CSP (Trusted Types enforced),
// from the side of a careful host developer and of hostile HTML. The XSS corpora through it are
// in xss.test.mjs ("setHTML" batches); here: it builds the very DOM `innerHTML =
// host.trustedHTML(html)` builds (the bench corpus's real pages, nestings the parser repairs,
// text the serializer must escape), it refuses targets whose content is not markup and
// anything but a string, before the sanitizer is loaded it throws MODULE_NOT_LOADED, and when a
// clean fails (the sanitizer's second part cannot load) the target keeps what it had.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost } from './helpers.mjs';
import { buildCorpus } from '../../scripts/bench/corpus.mjs';

const REST_WASM = '/pkg/sanitizer/plugin_warden_sanitizer_rest_bg.wasm';

let env;
before(async () => {
  env = await startEnv(19760);
});
after(() => env?.close());

/** In the page: `host.setHTML(el, html)` and `ref.innerHTML = host.trustedHTML(html)`, compared. */
const compareIn = (page, inputs, { attached = false } = {}) => page.evaluate(({ inputs, attached }) => {
  const host = window.e2e.host;
  const doc = attached ? document : document.implementation.createHTMLDocument('');
  const holder = attached ? document.body.appendChild(document.createElement('section')) : doc.body;
  const out = [];
  for (const html of inputs) {
    const built = doc.createElement('div');
    const parsed = doc.createElement('div');
    holder.append(built, parsed);
    built.append('stale content');
    host.setHTML(built, html);
    parsed.innerHTML = host.trustedHTML(html);
    out.push({ same: built.isEqualNode(parsed), built: built.innerHTML.slice(0, 300), parsed: parsed.innerHTML.slice(0, 300), nodes: built.getElementsByTagName('*').length });
    built.remove();
    parsed.remove();
  }
  if (attached) holder.remove();
  return out;
}, { inputs, attached });

test('before the sanitizer is loaded, setHTML throws MODULE_NOT_LOADED and leaves the target as it was', async () => {
  const host = await openHost(env);
  try {
    const r = await host.page.evaluate(() => {
      const el = document.createElement('div');
      el.append('kept');
      try {
        window.e2e.host.setHTML(el, '<b>x</b><img src=x onerror=alert(1)>');
        return { threw: false };
      } catch (e) {
        return { threw: true, name: e.name, code: e.code, message: e.message, html: el.innerHTML };
      }
    });
    assert.equal(r.code, 'MODULE_NOT_LOADED', JSON.stringify(r));
    assert.equal(r.name, 'PluginWardenError');
    assert.match(r.message, /preload\('sanitizer'\)/);
    assert.equal(r.html, 'kept');
    assert.deepEqual(await host.hostViolations(), { fromConsole: [], fromDocument: [] });
  } finally {
    await host.close();
  }
});

test('setHTML builds the very DOM innerHTML = trustedHTML builds: the bench corpus\'s real pages, nestings the parser repairs, text the serializer escapes; under the host CSP, with no violation', async () => {
  const host = await openHost(env);
  try {
    await host.page.evaluate(() => window.e2e.host.preload('sanitizer'));
    const { pages } = await buildCorpus();
    const tricky = [
      '<p>x<button><details open>y</details></button></p>', // the parser moves <details> out of <p>
      '<p><button><div>x</div></button></p>',
      '<a href="https://a.example/"><table><a href="https://b.example/">x</a></table></a>',
      '<table><tr><td>a</td></tr>text in a table<button>b</button></table>',
      '<h1><button><h2>x</h2></button></h1>',
      '<pre>\n\nline</pre><textarea>\nt</textarea><listing>\nl</listing>',
      '<p title="a&#13;b&quot;&lt;c&gt;">d&#13;e&amp;f&lt;g&gt;&nbsp;</p>',
      'é😀<b>\ud800 lone</b>&#x1F600;',
      '<b>1<i>2</b>3</i><b><p>4</b>5</p>',
      '<svg><a href="javascript:alert(1)">s</a></svg><math><mi>x</mi></math><!-- c --><template><b>t</b></template>',
      '',
    ];
    const r = await compareIn(host.page, [...tricky, ...pages]);
    const differ = r.map((x, i) => ({ i, ...x })).filter((x) => !x.same);
    assert.deepEqual(differ, [], `${differ.length} input(s) built another DOM`);
    assert.ok(r.slice(tricky.length).reduce((n, x) => n + x.nodes, 0) > 10000, 'the pages built few elements');
    // The same into attached elements (images load: same-origin 404s, or refused by img-src).
    const attached = await compareIn(host.page, tricky, { attached: true });
    assert.ok(attached.every((x) => x.same), JSON.stringify(attached.filter((x) => !x.same)));
    const v = await host.hostViolations();
    assert.deepEqual(v.fromDocument.filter((x) => x.directive !== 'img-src'), [], JSON.stringify(v));
    assert.deepEqual(host.seen.pageErrors, []);
  } finally {
    await host.close();
  }
});

test('setHTML into a closed shadow root; it refuses targets whose content is not markup, and anything but a string, leaving the target as it was', async () => {
  const host = await openHost(env);
  try {
    const r = await host.page.evaluate(async () => {
      const h = window.e2e.host;
      await h.preload('sanitizer');
      const box = document.body.appendChild(document.createElement('div'));
      const root = box.attachShadow({ mode: 'closed' });
      root.append('stale');
      h.setHTML(root, '<p onclick="alert(1)">in <b>shadow</b></p><img src=x onerror=alert(2)>');
      const shadow = root.innerHTML;
      box.remove();
      const attempt = (target, html = '<b>x</b>') => {
        const before = target && typeof target === 'object' && 'innerHTML' in target ? target.innerHTML : null;
        try {
          h.setHTML(target, html);
          return { threw: false };
        } catch (e) {
          const after = before === null ? null : target.innerHTML;
          return { code: e.code, message: e.message, untouched: before === after };
        }
      };
      // (A script's text is a Trusted Types sink: left empty.)
      const el = (name) => { const e = document.createElement(name); if (name !== 'script') e.append('old'); return e; };
      const xml = document.implementation.createDocument('http://www.w3.org/1999/xhtml', 'html', null);
      const refused = {};
      for (const name of ['script', 'style', 'template', 'textarea', 'title', 'iframe', 'noscript', 'xmp', 'object', 'html', 'head']) refused[name] = attempt(el(name));
      refused.svg = attempt(document.createElementNS('http://www.w3.org/2000/svg', 'svg'));
      refused.svgScript = attempt(document.createElementNS('http://www.w3.org/2000/svg', 'script'));
      refused.xmlDocument = attempt(xml.createElementNS('http://www.w3.org/1999/xhtml', 'div'));
      refused.text = attempt(document.createTextNode('t'));
      refused.fragment = attempt(document.createDocumentFragment());
      refused.document = attempt(document);
      refused.null = attempt(null);
      refused.string = attempt('#slot');
      const div = el('div');
      const notString = attempt(div, { toString: () => '<img src=x onerror=alert(3)>' });
      const nothing = attempt(div, null);
      const number = attempt(div, 42);
      return { shadow, refused, notString, nothing, number, divAfter: div.innerHTML };
    });
    assert.equal(r.shadow, '<p>in <b>shadow</b></p><img src="x">');
    for (const [name, x] of Object.entries(r.refused)) {
      assert.equal(x.code, 'INVALID_ARGUMENT', `${name}: ${JSON.stringify(x)}`);
      assert.match(x.message, /setHTML: the target must be an HTML element/, name);
      assert.notEqual(x.untouched, false, `${name} was changed`);
    }
    assert.match(r.refused.script.message, /found <script>/);
    assert.match(r.refused.svg.message, /found <svg> \(http:\/\/www\.w3\.org\/2000\/svg\)/);
    for (const x of [r.notString, r.nothing, r.number]) {
      assert.equal(x.code, 'INVALID_ARGUMENT', JSON.stringify(x));
      assert.match(x.message, /setHTML: expected a string of HTML/);
      assert.equal(x.untouched, true);
    }
    assert.equal(r.divAfter, 'old');
    assert.deepEqual(host.seen.pageErrors, []);
  } finally {
    await host.close();
  }
});

test('a host with maxTags: input over the limit empties the target (as trustedHTML gives the empty string); the host\'s own allow-list applies', async () => {
  const host = await openHost(env);
  try {
    const r = await host.page.evaluate(async () => {
      window.e2e.create({ sanitizer: { maxTags: 3, removeElements: ['i'] } });
      const h = window.e2e.host;
      await h.preload('sanitizer');
      await h.preload('sanitizer-rest'); // the host's own options are read there
      const el = document.createElement('div');
      el.append('old');
      h.setHTML(el, '<b>1</b><b>2</b><b>3</b><b>4</b>');
      const over = { html: el.innerHTML, nodes: el.childNodes.length, trusted: String(h.trustedHTML('<b>1</b><b>2</b><b>3</b><b>4</b>')) };
      h.setHTML(el, '<b>b</b><i>i</i>');
      return { over, own: el.innerHTML };
    });
    assert.deepEqual(r.over, { html: '', nodes: 0, trusted: '' });
    assert.equal(r.own, '<b>b</b>i');
  } finally {
    await host.close();
  }
});

test('the sanitizer\'s second part cannot load (an IDN link needs it): setHTML throws MODULE_NOT_LOADED and the target keeps what it had; once loaded, the same call builds', async () => {
  const host = await openHost(env);
  try {
    const seen = [];
    await host.page.route(`**${REST_WASM}`, (route) => {
      const answer = seen.length < 2 ? '404' : 'server';
      seen.push(answer);
      return answer === '404' ? route.fulfill({ status: 404, body: 'not found' }) : route.continue();
    });
    const r = await host.page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      const h = window.e2e.host;
      await h.preload('sanitizer');
      const el = document.createElement('div');
      el.append(document.createElement('b'));
      el.firstChild.append('kept');
      const idn = '<a href="https://b\u00fccher.example/">b\u00fccher</a><img src=x onerror="window.__pwned = 1">';
      let failed;
      try { h.setHTML(el, idn); failed = { threw: false }; } catch (e) { failed = { code: e.code, message: e.message }; }
      const kept = el.innerHTML;
      const loaded = await pkg.preload('sanitizer-rest').then(() => 'ok', (e) => e.code);
      h.setHTML(el, idn);
      return { failed, kept, loaded, built: el.innerHTML };
    });
    assert.equal(r.failed.code, 'MODULE_NOT_LOADED', JSON.stringify(r.failed));
    assert.match(r.failed.message, /plugin_warden_sanitizer_rest_bg\.wasm/);
    assert.equal(r.kept, '<b>kept</b>');
    assert.equal(r.loaded, 'ok');
    assert.match(r.built, /^<a href="https:\/\/(xn--bcher-kva|b\u00fccher)\.example\/" rel="noopener noreferrer">b\u00fccher<\/a><img src="x">$/);
    assert.deepEqual(seen, ['404', '404', 'server']);
  } finally {
    await host.close();
  }
});
