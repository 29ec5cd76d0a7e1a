// scripts/build.sh links the browser's core module with a link map (wasm-ld `--Map`): the
// address and size of every data object, which scripts/split-module.mjs reads to move the data
// that only the second part of the core uses into that part. The build asks for it by setting
// PW_LINK_MAP to the map's path for the core's build only (cargo also hands this crate's cdylib
// link arguments to the sanitizer module's link, which must not overwrite the core's map).
use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PW_LINK_MAP");
    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("wasm32") {
        return;
    }
    if let Ok(map) = env::var("PW_LINK_MAP") {
        println!("cargo:rustc-link-arg-cdylib=--Map={map}");
    }
}
