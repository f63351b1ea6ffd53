// Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip -9) beside
// each .wasm, .js and .css in the given folder, for the server to send as
// they are (smaller than on-the-fly compression, and no CPU per request).
// Node's own zlib: nothing to install.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const dir = process.argv[2] ?? 'dist';
let plain = 0;
let br = 0;
let gz = 0;
for (const name of readdirSync(dir)) {
  if (!/\.(wasm|js|css)$/.test(name)) continue;
  const data = readFileSync(join(dir, name));
  const b = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  const g = gzipSync(data, { level: 9 });
  writeFileSync(join(dir, `${name}.br`), b);
  writeFileSync(join(dir, `${name}.gz`), g);
  plain += data.length;
  br += b.length;
  gz += g.length;
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`[build] first load (wasm + js + css): ${kib(plain)}, gzip ${kib(gz)}, brotli ${kib(br)}`);
