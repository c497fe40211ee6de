/**
 * The usual interop set-up in one call: inside a `describe`, `kernelPeerFixture('x')` makes a
 * namespace `bwq-x<n>-<pid>`, boots a kernel peer whose tap sits in it, and removes both after the
 * suite. Both ends of the link are on 192.0.2.0/24 (documentation addresses):
 *
 *   netns (this machine)          guest
 *   tap HOST_ADDRESS/24  <----->  eth0 GUEST_ADDRESS/24
 */
import { after, before } from 'node:test';
import { BurrowNode } from './burrow.js';
import { KernelPeer, type KernelPeerOptions } from './kernel-peer.js';
import { Netns } from './netns.js';

export const HOST_ADDRESS = '192.0.2.1';
export const GUEST_ADDRESS = '192.0.2.2';

export interface KernelPeerFixture {
  /** Set by the before hook. */
  ns: Netns;
  peer: KernelPeer;
  /**
   * burrow in the namespace, stopped by the fixture before the namespace goes (a suite's own `after`
   * runs after the fixture's, when `daemon stop` could no longer reach the daemon).
   */
  burrow(): BurrowNode;
}

export function kernelPeerFixture(tag: string, options: Omit<KernelPeerOptions, 'netns'> = {}): KernelPeerFixture {
  const nodes: BurrowNode[] = [];
  const f = {
    burrow: () => {
      const node = BurrowNode.start(f.ns.name);
      nodes.push(node);
      return node;
    },
  } as KernelPeerFixture;
  before(async () => {
    f.ns = Netns.unique(tag);
    f.peer = await KernelPeer.boot({
      netns: f.ns.name,
      hostAddress: `${HOST_ADDRESS}/24`,
      guestAddress: `${GUEST_ADDRESS}/24`,
      ...options,
    });
  });
  after(async () => {
    for (const node of nodes) node.stop();
    await f.peer?.close();
    f.ns?.delete();
  });
  return f;
}
