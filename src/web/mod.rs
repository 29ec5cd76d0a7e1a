//! Browser adapters: translate between the browser and the core. Nothing here decides.

pub(crate) mod binary;
pub(crate) mod crypto;
pub(crate) mod dialog;
mod effects;
mod handshake;
pub(crate) mod host;
pub(crate) mod later;
mod liveness;
pub(crate) mod mount;
mod mounting;
pub(crate) mod remote_ui;
pub(crate) mod sanitizer;
pub(crate) mod storage;
pub(crate) mod sys;
pub(crate) mod trusted_types;
pub(crate) mod url;
