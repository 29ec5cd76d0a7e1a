//! The `#[wasm_bindgen]` facade: converts values and errors, calls the core, nothing more.
