import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ALL_DROP_REASONS, countDrop, type DropReason } from './drop.js';
import { emptyStats } from './stats.js';

test('docs/drop-reasons.md names every drop reason, and no other', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const doc = [path.join(here, '..', '..', 'docs'), path.join(here, '..', '..', '..', 'docs')]
    .map((d) => path.join(d, 'drop-reasons.md'))
    .find((f) => fs.existsSync(f))!;
  const documented = [...fs.readFileSync(doc, 'utf8').matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...ALL_DROP_REASONS].sort());
});

test('a drop moves its reason and the kernel counters it stands for', () => {
  const stats = emptyStats();
  const drops = new Map<DropReason, number>();
  countDrop(stats, drops, 'seq-out-of-order');
  countDrop(stats, drops, 'seq-out-of-order');
  countDrop(stats, drops, 'no-route');
  assert.equal(drops.get('seq-out-of-order'), 2);
  assert.equal(stats.rxFifoErrors, 2);
  assert.equal(stats.rxErrors, 2);
  assert.equal(stats.txCarrierErrors, 1);
  assert.equal(stats.txErrors, 1);
  assert.equal(stats.rxPackets + stats.txPackets, 0);
});
