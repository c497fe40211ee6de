/**
 * burrow's NBMA, 6to4/6rd, ISATAP and vti tunnels against the kernel's own drivers (issue 7).
 * One kernel boot for the whole file; each part builds its tunnels on both sides and removes them.
 *
 *   netns bwq-m<n>-<pid> (burrow daemon)         guest (Linux 6.1)
 *   tap 192.0.2.1/24  <----------------------->  eth0 192.0.2.2/24
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BurrowNode, pingCount } from './burrow.js';
import { GUEST_ADDRESS as GUEST, HOST_ADDRESS as HOST, kernelPeerFixture } from './fixture.js';
import { KernelPeer } from './kernel-peer.js';

/** The kernel's counters of one device (sysfs), as numbers. */
async function kernelStats(f: { peer: KernelPeer }, dev: string): Promise<Record<string, number>> {
  const names = ['rx_packets', 'rx_bytes', 'rx_errors', 'tx_packets', 'tx_bytes', 'tx_errors', 'tx_carrier_errors'];
  const out = await f.peer.check(`cd /sys/class/net/${dev}/statistics && cat ${names.join(' ')}`);
  const values = out.trim().split('\n').map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

describe('issue 7 modes against the kernel', { skip: KernelPeer.unavailable() ?? false }, () => {
  const f = kernelPeerFixture('m');
  let b: BurrowNode;

  before(() => {
    b = BurrowNode.start(f.ns.name);
  });
  after(() => b?.stop());

  test('NBMA ipip: remote any, next hop from the route via the kernel peer; the peer is tunl0 (NBMA too)', async (t) => {
    b.ok('tunnel', 'add', 'nb0', 'mode', 'ipip', 'remote', 'any', 'local', HOST, 'ttl', '64');
    b.sh(
      'ip link set nb0 up && ip addr add 10.1.1.1/32 dev nb0 && ' +
        `ip route add 10.2.0.0/24 via ${GUEST} dev nb0 onlink`,
    );
    // The guest: the Calico-style catch-all of spec scenario 21, on the kernel's fallback device.
    await f.peer.check(
      'modprobe ipip && ip link set tunl0 up && ip addr add 10.2.0.1/24 dev tunl0 && ' +
        `ip route add 10.1.1.0/24 via ${HOST} dev tunl0 onlink`,
    );
    const k0 = await kernelStats(f, 'tunl0');
    const ping = b.exec('ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.1.1.1', '10.2.0.1');
    assert.equal(pingCount(ping.stdout), 3, ping.stdout + ping.stderr);
    const c = b.counters('nb0');
    assert.equal(c.tx.packets, 3);
    assert.equal(c.rx.packets, 3);
    const k1 = await kernelStats(f, 'tunl0');
    assert.equal(k1.rx_packets - k0.rx_packets, 3, 'the kernel decapsulated our three echoes');
    assert.equal(k1.tx_packets - k0.tx_packets, 3);
    assert.equal(c.tx.bytes, k1.rx_bytes - k0.rx_bytes, 'both count the inner bytes');
    t.diagnostic(b.ok('-s', 'tunnel', 'show', 'nb0'));
    // Without the route the next hop is unknown: an on-link route through the tunnel sends to the
    // inner destination, whose outer route is the tunnel itself (DeadLoop), as in the kernel.
    b.sh('ip route add 10.3.0.0/24 dev nb0');
    b.exec('ping', '-c', '1', '-W', '1', '-I', '10.1.1.1', '10.3.0.1');
    const c2 = b.counters('nb0');
    assert.equal(c2.tx.collisions, 1);
    assert.equal(c2.drops['dead-loop'], 1);
    b.ok('tunnel', 'del', 'nb0');
    await f.peer.check('ip addr flush dev tunl0 && ip link set tunl0 down');
  });
});
