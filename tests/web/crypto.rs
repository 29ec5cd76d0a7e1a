//! Signature verification through WebCrypto (src/web/crypto.rs, crypto.js), via the public
//! install API: keys made and envelopes built and signed in the page with crypto.subtle,
//! independently of the SDK's own envelope code.

use crate::support::*;
use js_sys::{Object, Promise, Reflect};
use plugin_warden::PluginHost;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

#[wasm_bindgen(module = "/tests/web/support.js")]
extern "C" {
    type KeyPair;
    #[wasm_bindgen(js_name = keyPair)]
    fn key_pair(kind: &str) -> Promise;
    #[wasm_bindgen(method, getter)]
    fn spki(this: &KeyPair) -> String;
    #[wasm_bindgen(method, getter)]
    fn jwk(this: &KeyPair) -> JsValue;
    #[wasm_bindgen(method)]
    fn sign(this: &KeyPair, manifest: &str, code: &str) -> Promise;
}

const CODE: &str = "export function hello(name) {\n  return `Hello, ${name}!`;\n}\n";

async fn pair(kind: &str) -> KeyPair {
    JsFuture::from(key_pair(kind))
        .await
        .unwrap()
        .unchecked_into()
}

async fn signature(key: &KeyPair, manifest: &str, code: &str) -> String {
    JsFuture::from(key.sign(manifest, code))
        .await
        .unwrap()
        .as_string()
        .unwrap()
}

async fn install(
    host: &PluginHost,
    manifest: &str,
    code: &str,
    signature: &str,
    key: JsValue,
) -> Result<JsValue, JsValue> {
    let options = Object::new();
    Reflect::set(&options, &"code".into(), &code.into()).unwrap();
    Reflect::set(&options, &"signature".into(), &signature.into()).unwrap();
    Reflect::set(&options, &"publicKey".into(), &key).unwrap();
    JsFuture::from(host.install(json(manifest), Some(options.into()))).await
}

#[wasm_bindgen_test]
async fn a_valid_signature_installs_and_a_forged_one_is_signature_invalid() {
    for kind in ["ecdsa", "rsa"] {
        let host =
            PluginHost::new(json(r#"{"storage":"memory","requireSignatures":true}"#)).unwrap();
        let key = pair(kind).await;
        let other = pair(kind).await;
        let m =
            |n: u32| format!(r#"{{"id":"signed-{kind}-{n}","name":"Signed","version":"1.0.0"}}"#);

        // Good: SPKI base64 and JWK both carry the key.
        let sig = signature(&key, &m(1), CODE).await;
        let info = install(&host, &m(1), CODE, &sig, key.spki().into())
            .await
            .unwrap_or_else(|e| panic!("{kind}: a valid signature was refused: {}", stringify(&e)));
        assert_eq!(
            get(&info, "id").as_string().as_deref(),
            Some(format!("signed-{kind}-1").as_str())
        );
        assert_eq!(state(&host, &format!("signed-{kind}-1")), "installed");
        let sig = signature(&key, &m(2), CODE).await;
        install(&host, &m(2), CODE, &sig, key.jwk())
            .await
            .unwrap_or_else(|e| panic!("{kind}: JWK key refused: {}", stringify(&e)));

        // Bad: the code changed after signing, the signature from another key, the manifest
        // changed after signing.
        let sig = signature(&key, &m(3), CODE).await;
        let tampered = CODE.replace("Hello", "Hallo");
        let cases = [
            (
                "tampered code",
                install(&host, &m(3), &tampered, &sig, key.spki().into()).await,
            ),
            (
                "other key",
                install(&host, &m(3), CODE, &sig, other.spki().into()).await,
            ),
            (
                "widened manifest",
                install(
                    &host,
                    &m(3).replace(r#""version""#, r#""permissions":["storage"],"version""#),
                    CODE,
                    &sig,
                    key.spki().into(),
                )
                .await,
            ),
        ];
        for (what, result) in cases {
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{kind}: {what} installed"));
            assert_eq!(
                code_of(&err),
                "SIGNATURE_INVALID",
                "{kind}: {what}: {}",
                stringify(&err)
            );
        }
        // A refused install is recorded as failed, with the refusal's code; it never mounts.
        let status = host.status(&format!("signed-{kind}-3")).unwrap();
        assert_eq!(
            get(&status, "state").as_string().as_deref(),
            Some("failed"),
            "{kind}"
        );
        assert_eq!(
            get(&status, "code").as_string().as_deref(),
            Some("SIGNATURE_INVALID"),
            "{kind}"
        );
        let err = JsFuture::from(host.mount(
            &format!("signed-{kind}-3"),
            &slot(),
            Some(json(r#"{"mode":"shadow"}"#)),
        ))
        .await
        .unwrap_err();
        assert_eq!(code_of(&err), "MOUNT_FAILED", "{kind}: {}", stringify(&err));
        // Unsigned code on a host requiring signatures.
        let options = Object::new();
        Reflect::set(&options, &"code".into(), &CODE.into()).unwrap();
        let err = JsFuture::from(host.install(json(&m(4)), Some(options.into())))
            .await
            .unwrap_err();
        assert_eq!(
            code_of(&err),
            "SIGNATURE_INVALID",
            "{kind}: unsigned: {}",
            stringify(&err)
        );
        host.destroy();
    }
}
