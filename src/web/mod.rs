//! Browser adapters: translate between the browser and the core. Nothing here decides.

pub(crate) mod host;
pub(crate) mod mount;
pub(crate) mod sys;
