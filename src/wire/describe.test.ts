import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, loadFixture, loadPacket } from '../../test/fixtures/hex.js';
import { describe as describePacket } from './describe.js';
import { parseIpv4Dotted } from './address.js';
import { writeIpv4Header } from './ipv4.js';
import { writeGreHeader, GRE_KEY } from './gre.js';

const ECHO_1 = 'ICMP echo request, id 26939, seq 1, length 64';
const GRE_OUTER = 'IP 192.0.2.1 > 198.51.100.2';

test('describe: the kernel captures, every layer (Ethernet first)', () => {
  const expected: Record<string, string[]> = {
    'ipv4-icmp-echo': [
      '02:00:00:00:0a:01 > 02:00:00:00:0a:fe, ethertype IPv4 (0x0800), length 98: IP 192.0.2.1 > 198.51.100.2: ICMP echo request, id 26262, seq 1, length 64',
    ],
    'ipv4-fragments': [
      '02:00:00:00:0a:01 > 02:00:00:00:0a:fe, ethertype IPv4 (0x0800), length 1514: IP 192.0.2.1 > 198.51.100.2: (frag id 22929, offset 0+) ICMP echo request, id 26328, seq 1, length 1480',
      '02:00:00:00:0a:01 > 02:00:00:00:0a:fe, ethertype IPv4 (0x0800), length 562: IP 192.0.2.1 > 198.51.100.2: ip-proto-1 (frag id 22929, offset 1480), length 528',
    ],
    'icmp-frag-needed': [
      '02:00:00:00:0a:01 > 02:00:00:00:0a:fe, ethertype IPv4 (0x0800), length 1514: IP 192.0.2.1 > 198.51.100.2: ICMP echo request, id 26449, seq 1, length 1480',
      '02:00:00:00:0a:fe > 02:00:00:00:0a:01, ethertype IPv4 (0x0800), length 590: IP 192.0.2.254 > 192.0.2.1: ICMP 198.51.100.2 unreachable - need to frag (mtu 1400), length 556',
    ],
    'udp-port-unreachable': [
      '02:00:00:00:0a:01 > 02:00:00:00:0a:fe, ethertype IPv4 (0x0800), length 61: IP 192.0.2.1.40000 > 198.51.100.2.9: UDP, length 19',
      '02:00:00:00:0a:fe > 02:00:00:00:0a:01, ethertype IPv4 (0x0800), length 89: IP 198.51.100.2 > 192.0.2.1: ICMP 198.51.100.2 udp port 9 unreachable, length 55',
    ],
    'icmpv6-packet-too-big': [
      '02:00:00:00:0a:01 > 02:00:00:00:0a:fe, ethertype IPv6 (0x86dd), length 1514: IP6 2001:db8:1::1 > 2001:db8:2::2: ICMP6, echo request, id 26676, seq 1, length 1460',
      '02:00:00:00:0a:fe > 02:00:00:00:0a:01, ethertype IPv6 (0x86dd), length 1294: IP6 2001:db8:1::fe > 2001:db8:1::1: ICMP6, packet too big, mtu 1400, length 1240',
    ],
    'udp6-port-unreachable': [
      '02:00:00:00:0a:01 > 02:00:00:00:0a:fe, ethertype IPv6 (0x86dd), length 81: IP6 2001:db8:1::1.40000 > 2001:db8:2::2.9: UDP, length 19',
      '02:00:00:00:0a:fe > 02:00:00:00:0a:01, ethertype IPv6 (0x86dd), length 129: IP6 2001:db8:2::2 > 2001:db8:1::1: ICMP6, destination unreachable, unreachable port, length 75',
    ],
    'arp-request-reply': [
      '02:00:00:00:0a:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: ARP, Request who-has 192.0.2.254 tell 192.0.2.1, length 28',
      '02:00:00:00:0a:fe > 02:00:00:00:0a:01, ethertype ARP (0x0806), length 42: ARP, Reply 192.0.2.254 is-at 02:00:00:00:0a:fe, length 28',
    ],
    'vxlan-arp-icmp': [
      '02:00:00:00:0a:01 > 02:00:00:00:0a:fe, ethertype IPv4 (0x0800), length 92: IP 192.0.2.1.38325 > 198.51.100.2.4789: VXLAN, flags [I] (0x08), vni 100: 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28',
      '02:00:00:00:0a:fe > 02:00:00:00:0a:01, ethertype IPv4 (0x0800), length 92: IP 198.51.100.2.38325 > 192.0.2.1.4789: VXLAN, flags [I] (0x08), vni 100: 02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype ARP (0x0806), length 42: ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28',
      `02:00:00:00:0a:01 > 02:00:00:00:0a:fe, ethertype IPv4 (0x0800), length 148: IP 192.0.2.1.39415 > 198.51.100.2.4789: VXLAN, flags [I] (0x08), vni 100: 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 98: IP 10.0.0.1 > 10.0.0.2: ${ECHO_1}`,
      '02:00:00:00:0a:fe > 02:00:00:00:0a:01, ethertype IPv4 (0x0800), length 148: IP 198.51.100.2.39415 > 192.0.2.1.4789: VXLAN, flags [I] (0x08), vni 100: 02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype IPv4 (0x0800), length 98: IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 26939, seq 1, length 64',
    ],
  };
  for (const [name, lines] of Object.entries(expected)) {
    const frames = loadFixture(name);
    assert.equal(frames.length, lines.length, name);
    frames.forEach((frame, i) => assert.equal(describePacket(frame, 0, undefined, 'ethernet'), lines[i], `${name}[${i}]`));
  }
  // Starting at the IP header instead.
  assert.equal(
    describePacket(loadPacket('icmp-time-exceeded', 1), 14),
    'IP 192.0.2.254 > 192.0.2.1: ICMP time exceeded in-transit, length 92',
  );
  assert.equal(
    describePacket(loadPacket('icmpv6-time-exceeded', 1), 14),
    'IP6 2001:db8:1::fe > 2001:db8:1::1: ICMP6, time exceeded in-transit, length 112',
  );
});

test('describe: the hand-built GRE fixtures', () => {
  const expected: Record<string, string> = {
    'gre-plain': `${GRE_OUTER}: GRE, proto IPv4: IP 10.0.0.1 > 10.0.0.2: ${ECHO_1}`,
    'gre-key': `${GRE_OUTER}: GRE, key=0x2a, proto IPv4: IP 10.0.0.1 > 10.0.0.2: ${ECHO_1}`,
    'gre-csum': `${GRE_OUTER}: GRE, csum 0x77ff, proto IPv4: IP 10.0.0.1 > 10.0.0.2: ${ECHO_1}`,
    'gre-seq': `${GRE_OUTER}: GRE, seq 0, proto IPv4: IP 10.0.0.1 > 10.0.0.2: ${ECHO_1}`,
    'gre-csum-key-seq-ipv6': `${GRE_OUTER}: GRE, csum 0x15df, key=0x2a, seq 7, proto IPv6: IP6 2001:db8:1::1 > 2001:db8:2::2: ICMP6, echo request, id 26624, seq 1, length 64`,
    'gre-teb-key': `${GRE_OUTER}: GRE, key=0x1, proto TEB: 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 98: IP 10.0.0.1 > 10.0.0.2: ${ECHO_1}`,
    'gre-wccp-v2': `${GRE_OUTER}: GRE, proto WCCP: IP 10.0.0.1 > 10.0.0.2: ${ECHO_1}`,
  };
  for (const [name, line] of Object.entries(expected)) assert.equal(describePacket(loadPacket(name)), line, name);
});

test('describe: the example of the brief, IPIP, sit, TCP and ESP built here', () => {
  // GRE key 42 from 192.168.1.10 to 192.168.2.20 around the captured 10.0.0.1 > 10.0.0.2 echo.
  const inner = loadPacket('gre-key').subarray(28);
  const b = new Uint8Array(28 + inner.length);
  b.set(inner, 28);
  writeGreHeader(b, 20, GRE_KEY, 0x0800, 42, 0);
  writeIpv4Header(b, 0, 0, b.length, 0, true, 64, 47, parseIpv4Dotted('192.168.1.10')!, parseIpv4Dotted('192.168.2.20')!);
  assert.equal(describePacket(b), `IP 192.168.1.10 > 192.168.2.20: GRE, key=0x2a, proto IPv4: IP 10.0.0.1 > 10.0.0.2: ${ECHO_1}`);
  // IPIP and sit: an IP header in front, protocol 4 and 41.
  const wrap = (protocol: number, payload: Uint8Array) => {
    const out = new Uint8Array(20 + payload.length);
    out.set(payload, 20);
    writeIpv4Header(out, 0, 0, out.length, 1, false, 64, protocol, 0xc0000201, 0xc6336402);
    return out;
  };
  assert.equal(describePacket(wrap(4, inner)), `IP 192.0.2.1 > 198.51.100.2: IP 10.0.0.1 > 10.0.0.2: ${ECHO_1}`);
  const v6 = loadPacket('ipv6-icmpv6-echo').subarray(14);
  assert.equal(
    describePacket(wrap(41, v6)),
    'IP 192.0.2.1 > 198.51.100.2: IP6 2001:db8:1::1 > 2001:db8:2::2: ICMP6, echo request, id 26624, seq 1, length 64',
  );
  // TCP SYN-ACK and ESP, from their header layouts.
  const syn = fromHex('1f90 d431 0000 0001 0000 0002 5012 ffff 0000 0000');
  assert.equal(describePacket(wrap(6, syn)), 'IP 192.0.2.1.8080 > 198.51.100.2.54321: Flags [S.], seq 1, ack 2, win 65535, length 0');
  assert.equal(describePacket(wrap(50, fromHex('0000 0100 0000 0005 aaaa'))), 'IP 192.0.2.1 > 198.51.100.2: ESP(spi=0x00000100,seq=0x5), length 10');
  assert.equal(describePacket(wrap(132, fromHex('00'))), 'IP 192.0.2.1 > 198.51.100.2: ip-proto-132, length 1');
});

test('describe: each broken layer says where and why, and stops there', () => {
  const gre = loadPacket('gre-csum');
  const bad = gre.slice();
  bad[60] ^= 1; // inside the inner packet: the GRE checksum catches it
  assert.equal(describePacket(bad), `${GRE_OUTER}: GRE [|gre: bad-checksum]`);
  const routing = loadPacket('gre-key');
  routing[20] |= 0x40;
  assert.equal(describePacket(routing), `${GRE_OUTER}: GRE [|gre: routing-set]`);
  const outer = gre.slice();
  outer[8] = 1; // TTL changed, IPv4 checksum not
  assert.equal(describePacket(outer), `${GRE_OUTER}: [|ip: bad-checksum]`);
  assert.equal(describePacket(gre.subarray(0, 19)), 'IP [|ip: truncated]');
  assert.equal(describePacket(gre.subarray(0, 30)), `${GRE_OUTER}: [|ip: truncated]`);
  assert.equal(describePacket(new Uint8Array(0)), '[|ip]');
  assert.equal(describePacket(Uint8Array.of(0x50)), 'IP version 5 (unknown), length 1');
  // Protocol type says IPv6 but the payload is IPv4.
  const mismatch = loadPacket('gre-key');
  mismatch[22] = 0x86;
  mismatch[23] = 0xdd;
  assert.equal(describePacket(mismatch), `${GRE_OUTER}: GRE, key=0x2a, proto IPv6: [|ip: version 4 in IPv6]`);
  // A VXLAN header with a reserved bit.
  const vx = loadPacket('vxlan-arp-icmp').slice();
  vx[43] = 1;
  vx[40] = 0; // UDP checksum off, so the change is not reported as a checksum error first
  vx[41] = 0;
  assert.match(describePacket(vx, 14), /VXLAN, flags \[I\] \(0x08\), vni 100 \[\|vxlan: reserved-set\]$/);
  assert.equal(describePacket(loadPacket('arp-request-reply').subarray(0, 20), 0, undefined, 'ethernet'),
    '02:00:00:00:0a:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 20: ARP [|arp: truncated]');
  assert.equal(describePacket(new Uint8Array(5), 0, undefined, 'ethernet'), '[|ether]');
});

test('describe: offsets and lengths out of range are clamped, never thrown', () => {
  const frame = loadPacket('ipv4-icmp-echo');
  assert.equal(describePacket(frame, 14), describePacket(frame.subarray(14)));
  assert.equal(describePacket(frame, 14, 10_000), describePacket(frame.subarray(14)));
  assert.equal(describePacket(frame, 1_000), '[|ip]');
  assert.equal(describePacket(frame, -5, 3), describePacket(frame, 0, 3));
  assert.equal(describePacket(frame, 14, -1), '[|ip]');
  assert.equal(describePacket(frame, Number.NaN, Number.NaN), describePacket(frame));
});

test('describe: a tunnel-in-tunnel bomb is cut at a fixed depth', () => {
  let packet = loadPacket('gre-key').subarray(28) as Uint8Array;
  for (let i = 0; i < 40; i++) {
    const out = new Uint8Array(20 + packet.length);
    out.set(packet, 20);
    writeIpv4Header(out, 0, 0, out.length, i, false, 64, 4, 0x0a000001, 0x0a000002);
    packet = out;
  }
  const text = describePacket(packet);
  assert.match(text, /\[\|depth\]$/);
  assert.ok(text.length < 1000);
});
