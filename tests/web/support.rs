//! Helpers shared by the browser tests: reading values, slots, timers, and the hand-rolled
//! plugins and recorders (small JS, inline) the adapter tests drive the host with.

use js_sys::{Array, Function, Object, Promise, Reflect};
use plugin_warden::PluginHost;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Element;

#[wasm_bindgen(inline_js = r#"
// A first-party plugin as bare protocol: the `render` callback of a shadow mount gets the raw
// MessagePort and welcome (no client SDK), and `call` sends `{v:1,id,method,params}` on it and
// resolves with the host's raw reply. Events the host posts are kept in `events`; the heartbeat
// is answered.
export function miniPlugin() {
  const p = { port: null, welcome: null, root: null, events: [], waiting: new Map(), next: 1 };
  p.render = (root, port, welcome) => {
    p.root = root;
    p.port = port;
    p.welcome = welcome;
    port.onmessage = (e) => {
      const d = e.data;
      if (!d || typeof d !== 'object') return;
      if ('event' in d) {
        if (d.event === 'ping') {
          port.postMessage({ v: 1, event: 'pong', data: { seq: d.data && d.data.seq } });
          return;
        }
        p.events.push({ name: d.event, data: d.data });
        return;
      }
      const w = p.waiting.get(d.id);
      if (w) { p.waiting.delete(d.id); w(d); }
    };
    port.start();
  };
  // A call the host never answers resolves with `{ noReply: true }` after 5 s (a test fails
  // on it instead of hanging).
  p.call = (method, params) => new Promise((resolve) => {
    const id = p.next++;
    p.waiting.set(id, resolve);
    setTimeout(() => { if (p.waiting.delete(id)) resolve({ v: 1, id, noReply: true }); }, 5000);
    p.port.postMessage({ v: 1, id, method, params });
  });
  return p;
}

// Host options (JSON-like `base`) with every callback recording what it was given.
// onPermissionRequest answers from `answers[permission]` (default: no).
export function recorder(base, answers) {
  const r = { notes: [], events: [], asks: [], audits: [] };
  r.options = {
    ...base,
    onNotify: (n) => r.notes.push(n),
    onEvent: (e) => r.events.push(e),
    onAudit: (a) => r.audits.push(a),
    onPermissionRequest: (q) => { r.asks.push(q); return Promise.resolve(answers ? answers[q.permission] === true : false); },
  };
  return r;
}

// The next window message whose data has `pwTest === tag` (hand-rolled srcdoc plugins report
// here; the host counts such messages as ignored), or `{ pwTest: tag, timedOut: true }` after 5 s.
export function nextTestMessage(tag) {
  return new Promise((resolve) => {
    const on = (e) => {
      if (e.data && e.data.pwTest === tag) { removeEventListener('message', on); resolve(e.data); }
    };
    addEventListener('message', on);
    setTimeout(() => { removeEventListener('message', on); resolve({ pwTest: tag, timedOut: true }); }, 5000);
  });
}

// Replace `fetch` for a while: 'count' passes through, counting; 'hang' never answers (until
// aborted, as a real fetch does); 'endless' answers 200 with a body that never ends and no
// Content-Length. `restore()` puts the real one back.
export function stubFetch(mode) {
  const real = globalThis.fetch;
  const s = { calls: 0, urls: [], restore() { globalThis.fetch = real; } };
  globalThis.fetch = (url, init) => {
    s.calls++;
    s.urls.push(String(url));
    if (mode === 'hang') {
      return new Promise((_, reject) => {
        init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    }
    if (mode === 'endless') {
      const body = new ReadableStream({ pull(c) { c.enqueue(new Uint8Array(1024).fill(65)); } });
      return Promise.resolve(new Response(body, { status: 200 }));
    }
    return real(url, init);
  };
  return s;
}
"#)]
extern "C" {
    pub type MiniPlugin;
    #[wasm_bindgen(js_name = miniPlugin)]
    pub fn mini_plugin() -> MiniPlugin;
    #[wasm_bindgen(method, getter)]
    pub fn render(this: &MiniPlugin) -> Function;
    #[wasm_bindgen(method, getter)]
    pub fn root(this: &MiniPlugin) -> JsValue;
    #[wasm_bindgen(method, getter)]
    pub fn welcome(this: &MiniPlugin) -> JsValue;
    #[wasm_bindgen(method, getter)]
    pub fn events(this: &MiniPlugin) -> Array;
    #[wasm_bindgen(method, js_name = call)]
    fn call_raw(this: &MiniPlugin, method: &str, params: JsValue) -> Promise;

    pub type Recorder;
    pub fn recorder(base: JsValue, answers: JsValue) -> Recorder;
    #[wasm_bindgen(method, getter)]
    pub fn options(this: &Recorder) -> JsValue;
    #[wasm_bindgen(method, getter)]
    pub fn notes(this: &Recorder) -> Array;
    #[wasm_bindgen(method, getter)]
    pub fn events(this: &Recorder) -> Array;
    #[wasm_bindgen(method, getter)]
    pub fn asks(this: &Recorder) -> Array;
    #[wasm_bindgen(method, getter)]
    pub fn audits(this: &Recorder) -> Array;

    #[wasm_bindgen(js_name = nextTestMessage)]
    pub fn next_test_message(tag: &str) -> Promise;

    pub type FetchStub;
    #[wasm_bindgen(js_name = stubFetch)]
    pub fn stub_fetch(mode: &str) -> FetchStub;
    #[wasm_bindgen(method, getter)]
    pub fn calls(this: &FetchStub) -> u32;
    #[wasm_bindgen(method, getter)]
    pub fn urls(this: &FetchStub) -> Array;
    #[wasm_bindgen(method)]
    pub fn restore(this: &FetchStub);
}

impl MiniPlugin {
    /// Send one call and wait for the host's raw reply (`{v, id, ok, value | error}`).
    pub async fn call(&self, method: &str, params: &str) -> JsValue {
        JsFuture::from(self.call_raw(method, json(params)))
            .await
            .expect("calls resolve")
    }
}

/// A fetch stub that is put back when dropped (also when an assertion fails).
pub struct StubbedFetch(pub FetchStub);

impl StubbedFetch {
    pub fn new(mode: &str) -> Self {
        StubbedFetch(stub_fetch(mode))
    }
}

impl Drop for StubbedFetch {
    fn drop(&mut self) {
        self.0.restore();
    }
}

pub fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

pub fn code_of(e: &JsValue) -> String {
    get(e, "code")
        .as_string()
        .unwrap_or_else(|| format!("no code on {e:?}"))
}

pub fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).expect("test JSON parses")
}

pub fn stringify(v: &JsValue) -> String {
    js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

/// The value of an `ok` reply; panics (naming the error) otherwise.
pub fn ok_value(reply: &JsValue) -> JsValue {
    assert_eq!(
        get(reply, "ok").as_bool(),
        Some(true),
        "expected an ok reply, got {}",
        stringify(reply)
    );
    get(reply, "value")
}

/// The error code of a refused reply; panics when the reply is ok.
pub fn error_code(reply: &JsValue) -> String {
    assert_eq!(
        get(reply, "ok").as_bool(),
        Some(false),
        "expected a refusal, got {}",
        stringify(reply)
    );
    code_of(&get(reply, "error"))
}

pub fn slot() -> Element {
    let doc = web_sys::window().unwrap().document().unwrap();
    let el = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&el).unwrap();
    el
}

pub async fn installed(id: &str) -> PluginHost {
    let host = PluginHost::new(JsValue::UNDEFINED).unwrap();
    let manifest = json(&format!(
        r#"{{"id":"{id}","name":"Test","permissions":["storage"]}}"#
    ));
    JsFuture::from(host.install(manifest, None)).await.unwrap();
    host
}

pub fn state(host: &PluginHost, id: &str) -> String {
    get(&host.status(id).unwrap(), "state").as_string().unwrap()
}

pub async fn tick(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

/// Install `manifest` (JSON) in `host` and mount it as a first-party shadow plugin driven by a
/// [`MiniPlugin`]; answers the plugin once its render callback has the port.
pub async fn shadow_plugin(host: &PluginHost, manifest: &str) -> MiniPlugin {
    let manifest = json(manifest);
    let id = get(&manifest, "id").as_string().expect("manifest id");
    JsFuture::from(host.install(manifest, None))
        .await
        .unwrap_or_else(|e| panic!("install {id}: {}", stringify(&e)));
    let plugin = mini_plugin();
    let opts = Object::new();
    Reflect::set(&opts, &"mode".into(), &"shadow".into()).unwrap();
    Reflect::set(&opts, &"render".into(), &plugin.render()).unwrap();
    JsFuture::from(host.mount(&id, &slot(), Some(opts.into())))
        .await
        .unwrap_or_else(|e| panic!("mount {id}: {}", stringify(&e)));
    assert!(
        !plugin.welcome().is_undefined(),
        "the render callback got no welcome"
    );
    plugin
}

/// The page's origin (the test runner's server), e.g. `http://127.0.0.1:8000`.
pub fn origin() -> String {
    web_sys::window().unwrap().location().origin().unwrap()
}
