/**
 * Rewrites gold/ip-tunnel-kernel.json from the real kernel: `node dist/test/interop/record-gold.js`
 * (root; about 15 s). Review the diff before committing it: it is the reference for output fidelity.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GOLD_PATH, recordGold } from './gold.js';
import { repoRoot } from './guest-image.js';
import { KernelPeer } from './kernel-peer.js';
import { Netns } from './netns.js';

const ns = Netns.unique('gold');
let peer: KernelPeer | null = null;
try {
  peer = await KernelPeer.boot({ netns: ns.name, hostAddress: '192.0.2.1/24', guestAddress: '192.0.2.2/24' });
  const gold = await recordGold(peer);
  const path = join(repoRoot(), GOLD_PATH);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(gold, null, 2) + '\n');
  process.stdout.write(`wrote ${path}: ${gold.cases.length} tunnels, ${gold.errors.length} errors (${gold.provenance.kernel})\n`);
} finally {
  await peer?.close();
  ns.delete();
}
