/**
 * burrow's NBMA, 6to4/6rd, ISATAP and vti tunnels against the kernel's own drivers (issue 7).
 * One kernel boot for the whole file; each part builds its tunnels on both sides and removes them.
 *
 *   netns bwq-m<n>-<pid> (burrow daemon)         guest (Linux 6.1)
 *   tap 192.0.2.1/24  <----------------------->  eth0 192.0.2.2/24
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
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
    b = f.burrow();
  });

  test('NBMA ipip: remote any, next hop from the route via the kernel peer; the peer is tunl0 (NBMA too)', async (t) => {
    t.after(async () => {
      b.run('tunnel', 'del', 'nb0');
      await f.peer.run('ip addr flush dev tunl0; ip link set tunl0 down');
    });
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
  });

  /** `ip tunnel show NAME` in the guest and `burrow tunnel show NAME` here, with the two hosts' addresses masked. */
  async function sameShowLine(name: string): Promise<string> {
    const mask = (line: string) => line.replaceAll(HOST, 'H').replaceAll(GUEST, 'H').trimEnd();
    const kernel = mask(await f.peer.check(`ip tunnel show ${name}`));
    assert.equal(mask(b.ok('tunnel', 'show', name)), kernel);
    return kernel;
  }

  /** The same refusal on both sides (ours with our program name). */
  async function sameError(args: string): Promise<string> {
    const kernel = await f.peer.run(`ip tunnel ${args}`);
    const ours = b.run('tunnel', ...args.split(' '));
    assert.equal(ours.code, kernel.code, args);
    assert.equal(ours.stderr, kernel.stderr, args);
    return kernel.stderr.trim();
  }

  /** Removes what a test made on both sides, whether it passed or not. */
  async function cleanUp(name: string, guestExtra = ''): Promise<void> {
    b.run('tunnel', 'del', name);
    await f.peer.run(`ip tunnel del ${name}; ${guestExtra}`);
  }

  test('sit 6to4 and 6rd: pings with the embedded addresses; spoofed sources dropped on both sides', async (t) => {
    t.after(() => cleanUp('t6'));
    b.ok('tunnel', 'add', 't6', 'mode', 'sit', 'remote', 'any', 'local', HOST, 'ttl', '64');
    b.sh('ip link set t6 up && ip -6 addr add 2002:c000:201::1/16 dev t6 nodad');
    await f.peer.check(
      `ip tunnel add t6 mode sit remote any local ${GUEST} ttl 64 && ip link set t6 up && ` +
        'ip -6 addr add 2002:c000:202::1/16 dev t6 nodad',
    );
    t.diagnostic(await sameShowLine('t6'));
    const ping = (dst: string, src?: string) =>
      pingCount(b.exec('ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', ...(src ? ['-I', src] : []), dst).stdout);
    // 6to4: 2002:c000:202::1 embeds 192.0.2.2.
    const k0 = await kernelStats(f, 't6');
    assert.equal(ping('2002:c000:202::1'), 3, '6to4 ping');
    const k1 = await kernelStats(f, 't6');
    assert.equal(k1.rx_packets - k0.rx_packets, 3);
    assert.equal(b.counters('t6').rx.packets, 3);

    // Our source embeds 192.0.2.9, the outer source is 192.0.2.1: the kernel drops it (rx_errors).
    b.sh('ip -6 addr add 2002:c000:209::1/16 dev t6 nodad');
    assert.equal(ping('2002:c000:202::1', '2002:c000:209::1'), 0);
    const k2 = await kernelStats(f, 't6');
    assert.equal(k2.rx_errors - k1.rx_errors, 3, 'the kernel counts our spoofed packets');
    // And the other way: the guest's source embeds 192.0.2.7.
    await f.peer.check('ip -6 addr add 2002:c000:207::1/16 dev t6 nodad');
    const rx0 = b.counters('t6').rx;
    await f.peer.run('ping -c 3 -i 0.2 -W 1 -I 2002:c000:207::1 2002:c000:201::1', { timeoutMs: 20_000 });
    const c = b.counters('t6');
    assert.equal(c.rx.errors - rx0.errors, 3);
    assert.equal(c.drops['sixrd-source-spoofed'], 3);

    // 6rd: 2001:db8::/32 with the relay prefix 192.0.2.0/24, so a site's /40 holds its last octet.
    b.ok('tunnel', '6rd', 'dev', 't6', '6rd-prefix', '2001:db8::/32', '6rd-relay_prefix', '192.0.2.0/24');
    b.sh('ip -6 addr add 2001:db8:100::1/40 dev t6 nodad && ip -6 route add 2001:db8::/32 dev t6');
    await f.peer.check(
      'ip tunnel 6rd dev t6 6rd-prefix 2001:db8::/32 6rd-relay_prefix 192.0.2.0/24 && ' +
        'ip -6 addr add 2001:db8:200::1/40 dev t6 nodad && ip -6 route add 2001:db8::/32 dev t6',
    );
    t.diagnostic(await sameShowLine('t6'));
    const k3 = await kernelStats(f, 't6');
    assert.equal(ping('2001:db8:200::1'), 3, '6rd ping');
    assert.equal((await kernelStats(f, 't6')).rx_packets - k3.rx_packets, 3);
    t.diagnostic(await sameError('6rd dev t6 6rd-prefix 2001:db8::/48'));
    t.diagnostic(await sameError('6rd dev t6 6rd-prefix 2001:db8::1/32 6rd-relay_prefix 192.0.2.0/24'));
    b.ok('tunnel', '6rd', 'dev', 't6', '6rd-reset');
    await f.peer.check('ip tunnel 6rd dev t6 6rd-reset');
    t.diagnostic(await sameShowLine('t6'));
    t.diagnostic(b.ok('-s', '-s', 'tunnel', 'show', 't6'));
  });

  test('isatap: link-local fe80::5efe:a.b.c.d, a PRL router, the spoofing rule, prl errors', async (t) => {
    t.after(() => cleanUp('is0', 'ip -6 addr del 2001:db8:77::1/128 dev lo'));
    b.ok('tunnel', 'add', 'is0', 'mode', 'isatap', 'local', HOST);
    b.sh('ip link set is0 up && ip -6 addr add 2001:db8:1::5efe:c000:201/64 dev is0 nodad');
    await f.peer.check(
      `ip tunnel add is0 mode isatap local ${GUEST} && ip link set is0 up && ` +
        'ip -6 addr add 2001:db8:1::5efe:c000:202/64 dev is0 nodad && ip -6 addr add 2001:db8:77::1/128 dev lo',
    );
    assert.match(b.sh('ip -6 addr show dev is0'), /inet6 fe80::5efe:c000:201\/64 scope link/);
    const ping = (dst: string) => pingCount(b.exec('ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', dst).stdout);
    assert.equal(ping('fe80::5efe:c000:202%is0'), 3, 'link-local ping over ISATAP');

    // The guest as a router: our default route goes to its ISATAP link-local address.
    b.ok('tunnel', 'prl', 'prl-default', GUEST, 'dev', 'is0');
    await f.peer.check(`ip tunnel prl prl-default ${HOST} dev is0`);
    t.diagnostic(await sameShowLine('is0'));
    b.sh('ip -6 route add default via fe80::5efe:c000:202 dev is0');
    assert.equal(ping('2001:db8:77::1'), 3, 'through the PRL router; its replies come from a non-ISATAP source');
    // Without the router in the PRL those replies are spoofed (isatap_chksrc).
    b.ok('tunnel', 'prl', 'prl-delete', GUEST, 'dev', 'is0');
    const before = b.counters('is0').rx.errors;
    assert.equal(ping('2001:db8:77::1'), 0);
    const c = b.counters('is0');
    assert.equal(c.rx.errors - before, 3);
    assert.equal(c.drops['isatap-source-spoofed'], 3);

    b.ok('tunnel', 'prl', 'prl-nodefault', GUEST, 'dev', 'is0');
    await f.peer.check(`ip tunnel prl prl-delete ${HOST} dev is0 && ip tunnel prl prl-nodefault ${HOST} dev is0`);
    t.diagnostic(await sameShowLine('is0'));
    b.ok('tunnel', 'prl', 'prl-nodefault', '192.0.2.50', 'dev', 'is0');
    await f.peer.check('ip tunnel prl prl-nodefault 192.0.2.50 dev is0');
    t.diagnostic(await sameShowLine('is0'));
    t.diagnostic(await sameError('prl prl-default 192.0.2.50 dev is0'));
    t.diagnostic(await sameError('prl prl-delete 192.0.2.99 dev is0'));
    t.diagnostic(await sameError('prl prl-default 0.0.0.0 dev is0'));
    t.diagnostic(await sameError('prl dev is0'));
  });

  test('vti without IPsec states: the same show line, and both sides count tx_carrier_errors', async (t) => {
    t.after(() => cleanUp('vti1'));
    b.ok('tunnel', 'add', 'vti1', 'mode', 'vti', 'local', HOST, 'remote', GUEST, 'key', '42');
    b.sh('ip link set vti1 up && ip addr add 10.8.0.1/24 dev vti1');
    await f.peer.check(
      `ip tunnel add vti1 mode vti local ${GUEST} remote ${HOST} key 42 && ip link set vti1 up && ip addr add 10.8.0.2/24 dev vti1`,
    );
    t.diagnostic(await sameShowLine('vti1'));
    assert.equal(pingCount(b.exec('ping', '-c', '3', '-i', '0.2', '-W', '1', '10.8.0.1'.replace('.1', '.2')).stdout), 0);
    await f.peer.run('ping -c 3 -i 0.2 -W 1 10.8.0.1', { timeoutMs: 20_000 });
    const ours = b.counters('vti1');
    const kernel = await kernelStats(f, 'vti1');
    assert.equal(ours.tx.carrier_errors, 3);
    assert.equal(ours.tx.errors, 3);
    assert.equal(kernel.tx_carrier_errors, 3, 'the kernel counts its own three the same way');
    assert.equal(kernel.tx_errors, 3);
    assert.equal(ours.drops['xfrm-out-no-state'], 3);
  });
});
