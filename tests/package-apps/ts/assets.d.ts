// What a bundler's `file` loader gives for these imports (esbuild, Vite `?url`): a URL string.
declare module '*.html' { const url: string; export default url; }
declare module '*.wasm' { const url: string; export default url; }
