/**
 * Keeps gold/ip-tunnel-kernel.json honest: replays its table of `ip tunnel add` commands in the real
 * kernel and fails when anything printed differs. After a deliberate change (a new kernel or
 * iproute2), rerun `node dist/test/interop/record-gold.js` and review the diff. About 30 s.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { kernelPeerFixture } from './fixture.js';
import { loadGold, recordGold, type Gold } from './gold.js';
import { KernelPeer } from './kernel-peer.js';

describe('kernel gold for ip tunnel output', { skip: KernelPeer.unavailable() ?? false }, () => {
  const f = kernelPeerFixture('g');
  const gold = loadGold();
  let live: Gold;

  before(async () => {
    live = await recordGold(f.peer);
  });

  test('recorded on the kernel and iproute2 that run here', (t) => {
    t.diagnostic(`gold: ${gold.provenance.kernel}; ${gold.provenance.iproute2}`);
    t.diagnostic(`live: ${live.provenance.kernel}; ${live.provenance.iproute2}`);
    assert.equal(live.provenance.iproute2, gold.provenance.iproute2);
  });

  test('fallback devices', () => assert.deepEqual(live.fallback, gold.fallback));

  for (const [i, c] of gold.cases.entries()) {
    test(c.add, () => assert.deepEqual(live.cases[i], c));
  }

  test('all at once through the list path', () => assert.deepEqual(live.list, gold.list));
  test('kernel errors', () => assert.deepEqual(live.errors, gold.errors));
  test('a namespace without fallback devices', () => assert.deepEqual(live.noFallbackNetns, gold.noFallbackNetns));
});
