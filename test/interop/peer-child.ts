/**
 * Helper process for cleanup.test.ts (not a test): boots a kernel peer in a namespace of its own,
 * prints what it made as one JSON line, then waits to be killed (`wait`) or throws (`throw`).
 */
import { KernelPeer } from './kernel-peer.js';
import { Netns } from './netns.js';

const ns = Netns.unique('c');
const peer = await KernelPeer.boot({ netns: ns.name, hostAddress: '192.0.2.1/24', guestAddress: '192.0.2.2/24' });
await peer.check('true');
process.stdout.write(
  JSON.stringify({ qemuPid: peer.qemuPid, tap: peer.tap, netns: ns.name, dir: peer.tempDir }) + '\n',
);
if (process.argv[2] === 'throw') {
  setTimeout(() => {
    throw new Error('deliberate uncaught exception');
  }, 50);
} else {
  setInterval(() => {}, 60_000);
}
