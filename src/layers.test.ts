/**
 * The layer rule of DESIGN.md, enforced: every import in src/ points down the list
 * cli > lab > daemon > control > engine > tunnel > xfrm > io > wire (errors.ts is shared by all), and
 * tunnel/ and wire/ never reach the kernel. Tests may also import test helpers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ALLOWED: Record<string, readonly string[]> = {
  wire: [],
  // IPsec transforms (ESP with node:crypto): pure, over wire's ESP layout.
  xfrm: ['wire'],
  io: ['wire'],
  tunnel: ['xfrm', 'wire'],
  engine: ['tunnel', 'xfrm', 'io', 'wire'],
  control: ['tunnel', 'xfrm', 'io', 'wire'],
  daemon: ['control', 'engine', 'tunnel', 'xfrm', 'io', 'wire'],
  lab: ['io', 'tunnel', 'wire'],
  // The command line dispatches `burrow daemon` and `burrow lab` to those layers' command modules.
  cli: ['daemon', 'lab', 'control', 'tunnel', 'xfrm', 'wire'],
};

/** src/ in the source tree, whether this runs from src/ or from dist/src/. */
function sourceRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [here, path.join(here, '..', '..', 'src')];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'errors.ts')))!;
}

function* sources(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

test('imports point down the layers', () => {
  const root = sourceRoot();
  const problems: string[] = [];
  for (const file of sources(root)) {
    const relative = path.relative(root, file);
    const layer = relative.includes(path.sep) ? relative.split(path.sep)[0] : null;
    if (layer === null) continue;
    assert.ok(layer in ALLOWED, `${relative}: folder ${layer} has no place in the layer list`);
    const text = fs.readFileSync(file, 'utf8');
    const isTest = /\.test\.ts$|test-helpers\.ts$/.test(file);
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      const target = path.relative(root, path.resolve(path.dirname(file), m[1]));
      if (target.startsWith('..')) {
        if (!isTest) problems.push(`${relative} imports ${m[1]} outside src/`);
        continue;
      }
      const targetLayer = target.includes(path.sep) ? target.split(path.sep)[0] : null;
      if (targetLayer === null || targetLayer === layer) continue; // errors.ts, or its own folder
      if (!ALLOWED[layer].includes(targetLayer)) problems.push(`${relative} (${layer}) imports ${target} (${targetLayer})`);
    }
  }
  assert.deepEqual(problems, []);
});
