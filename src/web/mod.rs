//! Browser adapters: translate between the browser and the core. Nothing here decides.
