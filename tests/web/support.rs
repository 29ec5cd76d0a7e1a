//! Helpers shared by the browser tests: reading values, slots, timers, and the hand-rolled
//! plugins and recorders (small JS, inline) the adapter tests drive the host with.

use js_sys::{Array, Function, Object, Promise, Reflect};
use plugin_warden::PluginHost;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Element;

#[wasm_bindgen(module = "/tests/web/support.js")]
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

    #[wasm_bindgen(js_name = restoreFetch)]
    pub fn restore_fetch();

    pub type FetchStub;
    #[wasm_bindgen(js_name = stubFetch)]
    pub fn stub_fetch(mode: &str) -> FetchStub;
    #[wasm_bindgen(method, getter)]
    pub fn calls(this: &FetchStub) -> u32;
    #[wasm_bindgen(method, getter)]
    pub fn urls(this: &FetchStub) -> Array;
    #[wasm_bindgen(method, getter)]
    pub fn bytes(this: &FetchStub) -> u32;
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
