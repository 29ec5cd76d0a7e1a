// Completes pkg/ after wasm-pack: copies the plugin-side client, writes package.json with
// `exports` for `plugin-warden` and `plugin-warden/client`, and the package README.
import { readFileSync, writeFileSync, mkdirSync, copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const pkg = join(root, 'pkg');
const cargo = readFileSync(join(root, 'Cargo.toml'), 'utf8');
const field = (name) => (cargo.match(new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, 'm')) || [])[1];

mkdirSync(join(pkg, 'client'), { recursive: true });
for (const f of ['worker-runner.html', 'worker-runner.js']) copyFileSync(join(root, 'src/web', f), join(pkg, f));
for (const f of ['index.js', 'index.d.ts']) {
  copyFileSync(join(root, 'src/client', f), join(pkg, 'client', f));
  copyFileSync(join(root, 'src/web', f), join(pkg, f));
}

const manifest = {
  name: 'plugin-warden',
  version: field('version'),
  description: field('description'),
  license: field('license'),
  type: 'module',
  main: './index.js',
  module: './index.js',
  types: './index.d.ts',
  sideEffects: ['./snippets/*'],
  exports: {
    '.': { types: './index.d.ts', default: './index.js' },
    './client': { types: './client/index.d.ts', default: './client/index.js' },
    './worker-runner.html': './worker-runner.html',
    './plugin_warden_bg.wasm': './plugin_warden_bg.wasm',
    './package.json': './package.json',
  },
  files: readdirSync(pkg).filter((f) => f !== 'package.json' && f !== '.gitignore'),
  keywords: ['plugin', 'sandbox', 'iframe', 'postMessage', 'rbac', 'sanitizer', 'wasm', 'trusted-types'],
};
writeFileSync(join(pkg, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
copyFileSync(join(root, 'docs/package-README.md'), join(pkg, 'README.md'));
if (!manifest.files.includes('README.md')) manifest.files.push('README.md');
writeFileSync(join(pkg, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(`package: pkg/ (plugin-warden ${manifest.version}; exports . and ./client)`);
