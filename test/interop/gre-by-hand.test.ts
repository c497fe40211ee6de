/**
 * First interop check against the real ip_gre driver, before burrow's data plane exists: GRE packets
 * made by hand on this machine (packets.ts, sent from a raw socket) reach a gre tunnel in the guest,
 * and the guest's answers come back GRE-encapsulated, as the kernel builds them.
 *
 *   netns bwq-e0-<pid>                         guest
 *   tap 192.0.2.1/24  --------------------->   eth0 192.0.2.2/24
 *   (raw socket, proto 47)                     gre1 key 5, 10.9.0.2/30 (peer 10.9.0.1)
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { GUEST_ADDRESS as GUEST, HOST_ADDRESS as HOST, kernelPeerFixture } from './fixture.js';
import { KernelPeer } from './kernel-peer.js';
import {
  captureOnHost, ethernetIpv4, gre, icmpEcho, inetChecksum, ipv4, parseGre, parseIpv4, sendRaw,
} from './packets.js';

const IPPROTO_GRE = 47;
const IPPROTO_ICMP = 1;

describe('GRE by hand against the kernel', { skip: KernelPeer.unavailable() ?? false }, () => {
  const f = kernelPeerFixture('e');

  before(async () => {
    await f.peer.check(
      `ip tunnel add gre1 mode gre remote ${HOST} local ${GUEST} key 5 && ` +
        // No IPv6 on it: its router solicitations and MLD reports would move the tx counters.
        'sysctl -qw net.ipv6.conf.gre1.disable_ipv6=1 && ip addr add 10.9.0.2/30 dev gre1 && ip link set gre1 up',
    );
  });

  const counters = async () => {
    const [rxPackets, rxBytes, txPackets] = (
      await f.peer.check('cd /sys/class/net/gre1/statistics && cat rx_packets rx_bytes tx_packets')
    )
      .trim()
      .split('\n')
      .map(Number);
    return { rxPackets, rxBytes, txPackets };
  };

  const echo = (key: number, data: string) =>
    gre({ key }, ipv4({ src: '10.9.0.1', dst: '10.9.0.2', protocol: IPPROTO_ICMP }, icmpEcho(8, 0x4242, 1, Buffer.from(data))));

  test('an echo request in GRE key 5 is delivered to gre1; the reply comes back in GRE key 5', async (t) => {
    const c0 = await counters();
    // GRE carrying IPv4 only: its protocol field (0x0800) sits at byte 22 of the outer packet.
    const cap = await captureOnHost(f.ns.name, f.peer.tap, `ip proto ${IPPROTO_GRE} and src host ${GUEST} and ip[22:2] = 0x0800`, 1);
    const data = 'burrow interop: hand-made GRE';
    sendRaw(f.ns.name, IPPROTO_GRE, GUEST, echo(5, data));
    const frames = await cap.packets();
    assert.equal(frames.length, 1, 'no GRE answer from the guest');

    const outer = parseIpv4(ethernetIpv4(frames[0])!);
    assert.equal(outer.src, GUEST);
    assert.equal(outer.dst, HOST);
    assert.equal(outer.protocol, IPPROTO_GRE);
    assert.ok(outer.checksumOk);
    assert.equal(outer.ttl, 64, 'ttl inherit: the inner TTL (64) is copied');
    assert.equal(outer.df, true, 'pmtudisc (the default) sets DF');
    const g = parseGre(outer.payload);
    assert.equal(g.flags, 0x2000, 'key only, version 0');
    assert.equal(g.protocol, 0x0800);
    assert.equal(g.key, 5);
    const inner = parseIpv4(g.payload);
    assert.equal(inner.src, '10.9.0.2');
    assert.equal(inner.dst, '10.9.0.1');
    assert.equal(inner.protocol, IPPROTO_ICMP);
    assert.ok(inner.checksumOk);
    assert.equal(inner.payload[0], 0, 'echo reply');
    assert.equal(inetChecksum(inner.payload), 0);
    assert.equal(inner.payload.readUInt16BE(4), 0x4242);
    assert.equal(inner.payload.subarray(8).toString(), data);

    const c1 = await counters();
    assert.equal(c1.rxPackets - c0.rxPackets, 1);
    assert.equal(c1.rxBytes - c0.rxBytes, 20 + 8 + data.length, 'rx_bytes counts the inner packet');
    assert.equal(c1.txPackets - c0.txPackets, 1);
    t.diagnostic(`outer ${outer.src} > ${outer.dst} ttl ${outer.ttl} df ${outer.df}, GRE ${JSON.stringify({ flags: g.flags, key: g.key })}`);
    t.diagnostic(`ip -s tunnel show after it:\n${await f.peer.check('ip -s tunnel show')}`);
  });

  test('a key that matches no tunnel is not delivered', async () => {
    const c0 = await counters();
    const cap = await captureOnHost(f.ns.name, f.peer.tap, `icmp and src host ${GUEST}`, 1);
    sendRaw(f.ns.name, IPPROTO_GRE, GUEST, echo(6, 'wrong key'));
    const frames = await cap.packets(3_000);
    assert.deepEqual(await counters(), c0);
    // The kernel answers a GRE packet no tunnel takes with an ICMP error (gre_rcv: PACKET_REJECT).
    assert.equal(frames.length, 1, 'an ICMP error from the guest');
    const answer = parseIpv4(ethernetIpv4(frames[0])!);
    assert.equal(answer.protocol, IPPROTO_ICMP);
    assert.deepEqual([answer.payload[0], answer.payload[1]], [3, 3], 'destination unreachable, port unreachable');
  });

  test('GRE checksums: good is delivered, bad is dropped silently, missing counts as a crc error', async () => {
    await f.peer.check(
      `ip tunnel add gre2 mode gre remote ${HOST} local ${GUEST} key 6 csum && ` +
        'sysctl -qw net.ipv6.conf.gre2.disable_ipv6=1 && ip addr add 10.9.1.2/30 dev gre2 && ip link set gre2 up',
    );
    const stats = async () => {
      const s = await f.peer.check('cd /sys/class/net/gre2/statistics && cat rx_packets rx_errors rx_crc_errors');
      const [packets, errors, crc] = s.trim().split('\n').map(Number);
      return { packets, errors, crc };
    };
    const packet = (csum: boolean) =>
      gre({ key: 6, csum }, ipv4({ src: '10.9.1.1', dst: '10.9.1.2', protocol: IPPROTO_ICMP }, icmpEcho(8, 7, 1, Buffer.from('csum'))));
    const settle = () => f.peer.check('sleep 0.2');

    const s0 = await stats();
    sendRaw(f.ns.name, IPPROTO_GRE, GUEST, packet(true));
    await settle();
    const s1 = await stats();
    assert.deepEqual(s1, { ...s0, packets: s0.packets + 1 });

    // gre_parse_header() rejects it before any tunnel is looked up: no tunnel counter moves.
    const broken = packet(true);
    broken.writeUInt16BE(broken.readUInt16BE(4) ^ 0x0101, 4);
    sendRaw(f.ns.name, IPPROTO_GRE, GUEST, broken);
    await settle();
    const s2 = await stats();
    assert.deepEqual(s2, s1);

    // ip_tunnel_rcv(): the tunnel requires a checksum and the packet has none.
    sendRaw(f.ns.name, IPPROTO_GRE, GUEST, packet(false));
    await settle();
    const s3 = await stats();
    assert.deepEqual(s3, { packets: s2.packets, errors: s2.errors + 1, crc: s2.crc + 1 });
    // iproute2 prints rx_frame_errors under "CsumErrs", which the kernel never counts for GRE.
    const listing = await f.peer.check('ip -s tunnel show');
    const at = listing.indexOf('gre2:');
    assert.match(listing.slice(at), /RX: Packets +Bytes +Errors CsumErrs OutOfSeq Mcasts\n +1 +32 +1 +0 +0 +0 +\n/);
  });
});
