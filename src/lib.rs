//! # plugin-warden
//!
//! A browser-side **plugin host SDK**: a web application uses it to run third-party plugins
//! without handing them the page. Each plugin is mounted into a sandboxed iframe, an isolated
//! worker or a closed shadow root; every message it sends is parsed with limits and checked
//! against the permissions its manifest declares; whatever HTML it contributes is sanitized.
//!
//! ## Threat model
//!
//! Plugins are untrusted: an attacker controls a plugin's code, its manifest before review,
//! every message it sends, the URLs it asks for and the HTML it hands over. The host page and
//! the SDK are trusted. A plugin must not run script in the host's origin, read another
//! plugin's data, reach an undeclared origin, use a capability it was not granted, or crash
//! the host. Non-goals: side channels, and a plugin wasting its own iframe's CPU.
//!
//! ## Layout
//!
//! - [`core`]: every decision, in pure Rust, tested natively.
//! - `web` (wasm32 only): browser adapters — mounting, the message bridge, Trusted Types.
//! - `api` (wasm32 only): the `#[wasm_bindgen]` facade (`PluginHost` and friends).
//!
//! ## Example
//!
//! ```
//! use plugin_warden::core::error::ErrorCode;
//! assert_eq!(ErrorCode::MessageRejected.as_str(), "MESSAGE_REJECTED");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// .cargo/config.toml sets it; a RUSTFLAGS in the environment replaces that list.
#[cfg(all(feature = "ammonia", not(ammonia_unstable)))]
compile_error!("plugin-warden's `ammonia` feature needs `--cfg ammonia_unstable` (ammonia's cleaned tree, for host.setHTML): .cargo/config.toml sets it, but a RUSTFLAGS in the environment replaces that list; add `--cfg ammonia_unstable` to it");

pub mod core;

#[cfg(all(target_arch = "wasm32", feature = "host"))]
mod api;
#[cfg(all(target_arch = "wasm32", feature = "host"))]
pub use api::PluginHost;
#[cfg(all(target_arch = "wasm32", feature = "host"))]
mod web;
/// The browser's URL parser as the core's (tests/web/weburl.rs checks it against the `url` crate).
#[cfg(all(target_arch = "wasm32", feature = "host"))]
#[doc(hidden)]
pub use web::url::BrowserUrlParser;
