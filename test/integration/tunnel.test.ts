/**
 * Two burrow hosts on the classic topology (A and B, joined by router R): the behaviours issue 2 lists,
 * checked as a user sees them: pings delivered or not, counters, outer headers on the wire.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GRE_SEQ } from '../../src/tunnel/params.js';
import { writeGreHeader } from '../../src/wire/gre.js';
import { writeIpv4Header } from '../../src/wire/ipv4.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { parseIpv4Dotted } from '../../src/wire/address.js';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import {
  A,
  A_UNDERLAY,
  B,
  B_TUNNEL,
  B_UNDERLAY,
  burrowOk,
  captureOnRouter,
  classicLab,
  counters,
  deletePair,
  inject,
  ping,
  tunnelPair,
} from './tunnel-lab.js';

const skip = labUnavailableReason() ?? undefined;

describe('burrow to burrow over a router', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await classicLab();
  });
  after(() => lab?.destroy());

  it('ipip: ping over the tunnel, MTU 1480, counters equal to what was sent', async () => {
    // B forwards IPv6; its tunnel device must still send nothing of its own (no MLD for all-routers),
    // as the kernel's ipip device does not: the counters hold the ping alone.
    await tunnelPair(lab, 'ipip', { both: ['ttl', '64'] });
    try {
      assert.match(await lab.ip(A, ['link', 'show', 'vpn0']), /mtu 1480 .* qlen 1000\n/, 'MTU and queue length of the kernel\'s device');
      const r = await ping(lab, A, B_TUNNEL, ['-c', '20']);
      assert.equal(r.received, 20, r.output);
      const a = await counters(lab, A);
      const b = await counters(lab, B);
      // 20 echo requests of 84 bytes out of A into B, 20 replies back.
      assert.deepEqual([a.tx.packets, a.tx.bytes, a.rx.packets, a.rx.bytes], [20, 1680, 20, 1680]);
      assert.deepEqual([b.rx.packets, b.rx.bytes, b.tx.packets, b.tx.bytes], [20, 1680, 20, 1680]);
      assert.equal(a.tx.errors + a.rx.errors + b.tx.errors + b.rx.errors, 0, JSON.stringify({ a, b }));
    } finally {
      await deletePair(lab);
    }
  });

  it('the devices send no IPv6 of their own where the kernel\'s send none (MLD, router solicitations)', async () => {
    // B forwards (a router: no solicitations, but all-routers membership), A does not (a host).
    const modes = [['t4', 'ipip'], ['t47', 'gre'], ['t41', 'sit']] as const;
    for (const [ns, local, remote] of [[A, A_UNDERLAY, B_UNDERLAY], [B, B_UNDERLAY, A_UNDERLAY]] as const) {
      for (const [name, mode] of modes) {
        await burrowOk(lab, ns, ['tunnel', 'add', name, 'mode', mode, 'remote', remote, 'local', local]);
        await lab.ip(ns, ['link', 'set', name, 'up']);
      }
    }
    try {
      // MLD reports go out within a second of joining; the first router solicitation at once.
      await new Promise((r) => setTimeout(r, 2_500));
      for (const [ns, local] of [[A, '192.168.0.1'], [B, '192.168.100.1']] as const) {
        const hex = local.split('.').map(Number);
        const low = `${((hex[0] << 8) | hex[1]).toString(16)}:${((hex[2] << 8) | hex[3]).toString(16)}`;
        const linkLocal = { t4: `fe80::5efe:${low}`, t47: `fe80::5efe:${low}`, t41: `fe80::${low}` };
        for (const [name, mode] of modes) {
          const c = await counters(lab, ns, name);
          const groups = await lab.ip(ns, ['-6', 'maddr', 'show', 'dev', name]);
          assert.doesNotMatch(groups, /ff0[25]::2\b/, `${ns} ${name}: in no all-routers group`);
          assert.doesNotMatch(await lab.ip(ns, ['link', 'show', name]), /MULTICAST/);
          assert.match(await lab.ip(ns, ['-6', 'addr', 'show', 'dev', name]), new RegExp(`inet6 ${linkLocal[name]}/64 scope link`));
          assert.equal(c.tx.errors, 0, `${ns} ${name}`);
          // Only a gre device on a host solicits routers, as the kernel's does (when is the kernel's affair).
          const solicits = await lab.sysctl(ns, `net.ipv6.conf.${name}.router_solicitations`);
          if (mode === 'gre' && ns === A) {
            assert.equal(solicits, '-1', 'the default');
          } else {
            if (mode !== 'gre') assert.equal(solicits, '0', `${ns} ${name}`);
            assert.equal(c.tx.packets, 0, `${ns} ${name} sent ${c.tx.packets} packets`);
          }
        }
      }
    } finally {
      for (const ns of [A, B]) for (const [name] of modes) await burrowOk(lab, ns, ['tunnel', 'del', name]);
    }
  });

  it('with IPv6 disabled for new devices, tunnels of every mode are made, without an IPv6 address, as on the kernel', async () => {
    await lab.setSysctl(A, 'net.ipv6.conf.default.disable_ipv6', 1);
    const modes = [['t4', 'ipip'], ['t47', 'gre'], ['t41', 'sit']] as const;
    try {
      for (const [name, mode] of modes) {
        await burrowOk(lab, A, ['tunnel', 'add', name, 'mode', mode, 'remote', B_UNDERLAY, 'local', A_UNDERLAY]);
        await lab.ip(A, ['link', 'set', name, 'up']);
        assert.equal(await lab.ip(A, ['-6', 'addr', 'show', 'dev', name]), '', `${name}: no IPv6 address`);
      }
    } finally {
      await lab.setSysctl(A, 'net.ipv6.conf.default.disable_ipv6', 0);
      for (const [name] of modes) await lab.burrow(A, ['tunnel', 'del', name]);
    }
  });

  it('gre: MTU 1476, key match delivers; key mismatch delivers nothing and leaves RX unchanged', async () => {
    await tunnelPair(lab, 'gre', { a: ['key', '42'], b: ['key', '42'] });
    try {
      assert.match(await lab.ip(A, ['link', 'show', 'vpn0']), /mtu 1472 /, 'key costs 4 bytes');
      assert.equal((await ping(lab, A, B_TUNNEL)).received, 5);
    } finally {
      await deletePair(lab);
    }
    await tunnelPair(lab, 'gre', { a: ['key', '1'], b: ['key', '2'] });
    try {
      const before = await counters(lab, B);
      const r = await ping(lab, A, B_TUNNEL);
      assert.equal(r.received, 0, r.output);
      const after = await counters(lab, B);
      assert.equal(after.rx.packets, before.rx.packets, 'B took none of them');
      assert.equal(after.rx.errors, before.rx.errors);
      const status = await burrowOk(lab, B, ['daemon', 'status']);
      assert.match(status, /drop no-tunnel: [1-9]/, 'counted as no-tunnel on B');
    } finally {
      await deletePair(lab);
    }
  });

  it('gre csum: both sides works; checksums on one side only are dropped and counted', async () => {
    await tunnelPair(lab, 'gre', { both: ['csum'] });
    try {
      assert.match(await lab.ip(A, ['link', 'show', 'vpn0']), /mtu 1472 /);
      assert.equal((await ping(lab, A, B_TUNNEL)).received, 5);
    } finally {
      await deletePair(lab);
    }
    await tunnelPair(lab, 'gre', { a: ['ocsum'] });
    try {
      const r = await ping(lab, A, B_TUNNEL);
      assert.equal(r.received, 0);
      const b = await counters(lab, B);
      assert.equal(b.rx.packets, 0);
      assert.equal(b.rx.errors, 5, 'Errors counts them');
      assert.equal(b.rx.crc_errors, 5, 'as checksum-flag mismatches (rx_crc_errors)');
      assert.equal(b.rx.frame_errors, 0, 'the CsumErrs column stays 0, as on the kernel (spec 2.2)');
      // `show vpn0` is list mode (no mode in the name), so -s prints the counters, as ip does.
      const listed = await burrowOk(lab, B, ['-s', '-s', 'tunnel', 'show', 'vpn0']);
      assert.match(listed, /RX: Packets +Bytes +Errors CsumErrs OutOfSeq Mcasts\n +0 +0 +5 +0 +0 +0/);
      assert.match(listed, /Drops: csum-mismatch 5/);
    } finally {
      await deletePair(lab);
    }
  });

  it('gre seq: in order works; a reordered or repeated packet is dropped as OutOfSeq', async () => {
    await tunnelPair(lab, 'gre', { both: ['seq'] });
    try {
      assert.equal((await ping(lab, A, B_TUNNEL, ['-c', '3'])).received, 3);
      // Echo requests from A's tunnel address, sequenced by hand: 100, 102, 101 (late), 102 (again), 103.
      const a = parseIpv4Dotted(A_UNDERLAY)!;
      const b = parseIpv4Dotted(B_UNDERLAY)!;
      const make = (seq: number): Uint8Array => {
        const inner = Buffer.alloc(28);
        writeIpv4Header(inner, 0, 0, 28, seq, false, 64, 1, parseIpv4Dotted('10.0.0.1')!, parseIpv4Dotted(B_TUNNEL)!);
        inner[20] = 8;
        inner.writeUInt16BE(seq, 26);
        inner.writeUInt16BE(internetChecksum(inner, 20, 8), 22);
        const packet = Buffer.alloc(20 + 8 + 28);
        writeGreHeader(packet, 20, GRE_SEQ, 0x0800, 0, seq);
        packet.set(inner, 28);
        writeIpv4Header(packet, 0, 0, packet.length, 0, true, 64, 47, a, b);
        return packet;
      };
      const before = await counters(lab, B);
      inject(lab, A, [100, 102, 101, 102, 103].map(make));
      await new Promise((r) => setTimeout(r, 300));
      const after = await counters(lab, B);
      assert.equal(after.rx.packets - before.rx.packets, 3, '100, 102 and 103 delivered');
      assert.equal(after.rx.fifo_errors - before.rx.fifo_errors, 2, 'the late 101 and the repeated 102 are OutOfSeq');
      assert.equal(after.rx.errors - before.rx.errors, 2);
    } finally {
      await deletePair(lab);
    }
  });

  it('ttl: fixed TTL on the wire whatever the inner TTL; inherit copies the inner TTL', async () => {
    await tunnelPair(lab, 'ipip', { both: ['ttl', '64'] });
    try {
      const lines = await captureOnRouter(lab, 'a', `ip proto 4 and src ${A_UNDERLAY}`, 1, () => ping(lab, A, B_TUNNEL, ['-c', '1', '-t', '5']));
      assert.match(lines[0], /ttl 64,/, lines.join('\n'));
    } finally {
      await deletePair(lab);
    }
    await tunnelPair(lab, 'ipip', { both: ['ttl', 'inherit'] });
    try {
      const lines = await captureOnRouter(lab, 'a', `ip proto 4 and src ${A_UNDERLAY}`, 1, () => ping(lab, A, B_TUNNEL, ['-c', '1', '-t', '5']));
      assert.match(lines[0], /ttl 5,/, lines.join('\n'));
      assert.equal((await ping(lab, A, B_TUNNEL, ['-c', '2', '-t', '1'])).received, 0, 'ttl 1 dies at the router');
    } finally {
      await deletePair(lab);
    }
  });

  it('tos inherit copies the inner DS field to the outer header', async () => {
    await tunnelPair(lab, 'gre', { both: ['tos', 'inherit'] });
    try {
      const lines = await captureOnRouter(lab, 'a', `ip proto 47 and src ${A_UNDERLAY}`, 1, () => ping(lab, A, B_TUNNEL, ['-c', '1', '-Q', '0xb8']));
      assert.match(lines[0], /tos 0xb8,/, lines.join('\n'));
    } finally {
      await deletePair(lab);
    }
  });

  it('sit: ping -6 over IPv6-in-IPv4, MTU 1480, link-local from the local address', async () => {
    const { b } = await tunnelPair(lab, 'sit', { both: ['ttl', '64'] });
    try {
      assert.match(await lab.ip(A, ['link', 'show', 'vpn0']), /mtu 1480 /);
      assert.match(await lab.ip(A, ['-6', 'addr', 'show', 'vpn0']), /inet6 fe80::c0a8:1\/64 scope link/);
      const r = await ping(lab, A, b, ['-6']);
      assert.equal(r.received, 5, r.output);
      const lines = await captureOnRouter(lab, 'a', `ip proto 41`, 1, () => ping(lab, A, b, ['-6', '-c', '1']));
      assert.match(lines[0], /proto IPv6 \(41\)/, lines.join('\n'));
    } finally {
      await deletePair(lab);
    }
  });

  it('a DF packet over the path MTU is answered with frag-needed carrying the MTU', async () => {
    await tunnelPair(lab, 'ipip', { both: ['ttl', '64'] });
    try {
      // The device MTU lets 1500-byte packets in; the path takes 1480 of inner packet.
      await lab.ip(A, ['link', 'set', 'vpn0', 'mtu', '1500']);
      const r = await ping(lab, A, B_TUNNEL, ['-c', '2', '-M', 'do', '-s', '1472']);
      assert.equal(r.received, 0);
      assert.match(r.output, /mtu ?= ?1480/, r.output);
      const a = await counters(lab, A);
      assert.ok(a.tx.errors >= 1, 'counted as a transmit error');
      assert.equal((await ping(lab, A, B_TUNNEL, ['-c', '2', '-M', 'do', '-s', '1452'])).received, 2, '1452 + 28 = 1480 fits');
    } finally {
      await deletePair(lab);
    }
  });
});
