// Builds the stand-in page's bundle (host.js, host.css) with the real @grafana/* packages.
// Usage: node e2e/host/web/build.mjs <out dir>
import { resolve } from 'node:path';
import { build } from 'esbuild';

const out = resolve(process.argv[2] || 'target/host-web');
await build({
  entryPoints: [resolve(import.meta.dirname, 'src/main.jsx')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  jsx: 'automatic',
  outfile: `${out}/host.js`,
  // Bundled lodash would otherwise register itself through SystemJS's global AMD define.
  define: { define: 'undefined', 'process.env.NODE_ENV': '"production"', global: 'window' },
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.svg': 'file', '.png': 'file', '.gif': 'file' },
  logLevel: 'warning',
  logOverride: { 'empty-import-meta': 'silent' },
});
console.log(`built ${out}/host.js`);
