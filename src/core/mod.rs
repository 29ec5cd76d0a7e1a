//! The pure core: every decision plugin-warden makes, with no browser in sight.
//!
//! Nothing under `core` names a browser crate (the wasm-bindgen family, web-sys, js-sys or
//! the Gloo toolkit; a check in the test command enforces it), so all of it is tested natively
//! with `cargo test`.

pub mod allow_plugins;
pub mod analysis;
pub mod audit;
pub mod binary;
pub mod collections;
pub mod compat;
pub mod csp;
pub mod engine;
pub mod error;
#[cfg(feature = "ammonia")]
pub mod html_text;
#[cfg(feature = "ammonia")]
pub mod html_tree;
pub mod integrity;
pub mod json;
pub mod liveness;
pub mod manifest;
pub mod mount;
pub mod network;
pub mod permission;
pub mod policy;
pub mod protocol;
pub mod provenance;
pub mod ratelimit;
pub mod rbac;
pub mod routes;
pub mod sanitize;
pub mod scripts;
pub mod signature;
pub mod storage;
pub mod update;
pub mod utf8;
pub mod vocab;
pub mod weburl;
