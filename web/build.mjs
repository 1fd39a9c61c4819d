// Builds the web app into dist/: index.html plus assets/ with content-hashed names (cached for a
// year by the origin; index.html is revalidated). Player engines are split into their own chunks,
// loaded only when chosen. Nothing is fetched from a CDN: every library comes from node_modules.
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const dist = 'dist';
rmSync(dist, { recursive: true, force: true });
mkdirSync(path.join(dist, 'assets'), { recursive: true });
const result = await esbuild.build({
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  splitting: true,
  format: 'esm',
  minify: true,
  sourcemap: 'linked',
  target: ['chrome100', 'firefox100', 'safari15'],
  outdir: path.join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
});
const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, o]) => o.entryPoint === 'src/main.js');
const js = path.basename(entry[0]);
const css = path.basename(entry[1].cssBundle);
const html = readFileSync('src/index.html', 'utf8').replace('%JS%', js).replace('%CSS%', css);
writeFileSync(path.join(dist, 'index.html'), html);
const bytes = outputs.filter(([f]) => !f.endsWith('.map')).reduce((n, [, o]) => n + o.bytes, 0);
console.log(`web app built: ${dist}/index.html, ${js} (${(entry[1].bytes / 1024).toFixed(0)} KiB), ${outputs.length} files, ${(bytes / 1048576).toFixed(1)} MiB in all`);
