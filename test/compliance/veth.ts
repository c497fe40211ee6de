/**
 * Two namespaces joined by a veth pair, for the socket port tests (not a test file itself):
 *
 *   nsA: bwio-va 192.0.2.1/24 (02:00:00:00:01:01)  <-veth->  nsB: bwio-vb 192.0.2.2/24 (02:00:00:00:01:02)
 *
 * Neighbour entries are permanent, so no packet waits for ARP (a batch of hundreds would overflow the
 * unresolved queue).
 */
import { ifNameToIndex } from '../../src/io/native/index.js';
import { inNs, ip, ipv4, Namespaces } from './netns.js';

export const ADDR_A = ipv4('192.0.2.1');
export const ADDR_B = ipv4('192.0.2.2');
/** TEST-NET-3: no route to it in either namespace. */
export const UNROUTED = ipv4('203.0.113.1');

export interface Veth {
  spaces: Namespaces;
  nsA: string;
  nsB: string;
  /** ifindex of bwio-va in nsA and bwio-vb in nsB. */
  ifindexA: number;
  ifindexB: number;
}

export function vethPair(): Veth {
  const spaces = new Namespaces();
  try {
    const nsA = spaces.add();
    const nsB = spaces.add();
    ip('-n', nsA, 'link', 'add', 'bwio-va', 'address', '02:00:00:00:01:01', 'type', 'veth',
      'peer', 'name', 'bwio-vb', 'netns', nsB, 'address', '02:00:00:00:01:02');
    ip('-n', nsA, 'addr', 'add', '192.0.2.1/24', 'dev', 'bwio-va');
    ip('-n', nsB, 'addr', 'add', '192.0.2.2/24', 'dev', 'bwio-vb');
    ip('-n', nsA, 'link', 'set', 'bwio-va', 'up');
    ip('-n', nsB, 'link', 'set', 'bwio-vb', 'up');
    ip('-n', nsA, 'neigh', 'replace', '192.0.2.2', 'lladdr', '02:00:00:00:01:02', 'dev', 'bwio-va', 'nud', 'permanent');
    ip('-n', nsB, 'neigh', 'replace', '192.0.2.1', 'lladdr', '02:00:00:00:01:01', 'dev', 'bwio-vb', 'nud', 'permanent');
    return {
      spaces,
      nsA,
      nsB,
      ifindexA: inNs(nsA, () => ifNameToIndex('bwio-va')),
      ifindexB: inNs(nsB, () => ifNameToIndex('bwio-vb')),
    };
  } catch (e) {
    spaces.destroy();
    throw e;
  }
}
