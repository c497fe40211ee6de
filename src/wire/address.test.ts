import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatIpv4,
  formatIpv6,
  ipv4InPrefix,
  ipv4PrefixMask,
  ipv6Equal,
  ipv6InPrefix,
  ipv6PrefixMask,
  isBroadcastIpv4,
  isLinkLocalIpv4,
  isLinkLocalIpv6,
  isLoopbackIpv4,
  isLoopbackIpv6,
  isMulticastIpv4,
  isMulticastIpv6,
  isPrivateIpv4,
  isUnspecifiedIpv6,
  isV4MappedIpv6,
  isZeronetIpv4,
  parseIpv4Dotted,
  parseIpv6,
  readIpv4,
  writeIpv4,
} from './address.js';

function hex(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString('hex');
}

test('address: IPv4 dotted quad both ways', () => {
  assert.equal(formatIpv4(0xc0a80001), '192.168.0.1');
  assert.equal(formatIpv4(0), '0.0.0.0');
  assert.equal(formatIpv4(0xffffffff), '255.255.255.255');
  assert.equal(parseIpv4Dotted('192.168.0.1'), 0xc0a80001);
  assert.equal(parseIpv4Dotted('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4Dotted('0.0.0.0'), 0);
  assert.equal(parseIpv4Dotted('10.0.0.0'), 0x0a000000);
});

test('address: IPv4 parsing is as strict as inet_pton', () => {
  // Each of these was checked against glibc's inet_pton(AF_INET) on this machine: all refused.
  for (const bad of ['', '1.2.3', '127.1', '1.2.3.4.5', '01.2.3.4', '0177.0.0.1', '1.2.3.256', ' 1.2.3.4', '1.2.3.4 ', '1..3.4', '.1.2.3', '1.2.3.', '0x1.2.3.4', '1.2.3.-4', '1.2.3.4/24', '١.2.3.4', '::ffff:1.2.3.4', '1.2.3.00']) {
    assert.equal(parseIpv4Dotted(bad), null, JSON.stringify(bad));
  }
});

test('address: read and write IPv4 in network order', () => {
  const b = new Uint8Array(6).fill(0xa5);
  writeIpv4(b, 1, 0xc0000201);
  assert.deepEqual([...b], [0xa5, 192, 0, 2, 1, 0xa5]);
  assert.equal(readIpv4(b, 1), 0xc0000201);
  writeIpv4(b, 1, 0xffffffff);
  assert.equal(readIpv4(b, 1), 0xffffffff);
});

test('address: IPv6 text exactly as glibc inet_ntop prints it', () => {
  // Expected strings produced by glibc's inet_ntop (Python's socket.inet_ntop on this machine).
  const cases: [string, string][] = [
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000000000000002', '::2'],
    ['00000000000000000000000000000102', '::102'],
    ['00000000000000000000000001020304', '::1.2.3.4'],
    ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
    ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
    ['0000000000000000ffff000001020304', '::ffff:0:102:304'],
    ['00010000000000000000000000000000', '1::'],
    ['00010000000000010000000000000001', '1:0:0:1::1'],
    ['00010000000000020000000000010001', '1::2:0:0:1:1'],
    ['00010000000100010001000100010001', '1:0:1:1:1:1:1:1'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00000000000000000001000000000000', '::1:0:0:0'],
    ['00000000000000000000000100000000', '::1:0:0'],
    ['00000000000000000000fffe01020304', '::fffe:102:304'],
    ['0064ff9b000000000000000001020304', '64:ff9b::102:304'],
    ['00000000000000000000ffffffffffff', '::ffff:255.255.255.255'],
    ['0000000000000000000000000000ffff', '::ffff'],
    ['00000000000000000000000000010002', '::0.1.0.2'],
    ['fe800000000000000000c0a8010a0000', 'fe80::c0a8:10a:0'],
    ['20010db8000100000000000000000001', '2001:db8:1::1'],
    ['ff020000000000000000000000000001', 'ff02::1'],
    ['20010db8aaaabbbbccccddddeeeeffff', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
  ];
  for (const [h, text] of cases) {
    const bytes = Uint8Array.from(Buffer.from(h, 'hex'));
    assert.equal(formatIpv6(bytes), text, h);
    assert.equal(hex(parseIpv6(text)), h, text);
    // At an offset inside a larger buffer.
    const big = new Uint8Array(20).fill(0xa5);
    big.set(bytes, 3);
    assert.equal(formatIpv6(big, 3), text);
  }
});

test('address: IPv6 parsing accepts what inet_pton accepts and nothing else', () => {
  // Checked against glibc's inet_pton(AF_INET6) on this machine.
  const good: [string, string][] = [
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::1:2:3:4:5:6:7', '00000001000200030004000500060007'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['::0123', '00000000000000000000000000000123'],
    ['1::1.2.3.4', '00010000000000000000000001020304'],
    ['::FFFF:1.2.3.4', '00000000000000000000ffff01020304'],
    ['0::0', '00000000000000000000000000000000'],
    ['::a:1.2.3.4', '00000000000000000000000a01020304'],
    ['2001:DB8::A', '20010db800000000000000000000000a'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '00000000000000000000000000000001'],
  ];
  for (const [text, h] of good) assert.equal(hex(parseIpv6(text)), h, text);
  const bad = [
    '', ':', '1:', ':1', ':1::', '1:::2', ':::', '1::2::3', '1:2:3:4:5:6:7:8::', '1::2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '::ffff:1.2.3.4:1', '1:2:3:4:5:6:7:1.2.3.4', '::01234', '::1.2.3',
    '::1.2.3.04', 'fe80::1%eth0', '::1.2.3.4.5', '1.2.3.4::', '1.2.3.4', 'g::1', ' ::1', '::1 ', '[::1]',
    '::1/128', '1.2.3.4::1', '::1.2.3.4:5', '::-1', '12345::',
  ];
  for (const text of bad) assert.equal(parseIpv6(text), null, JSON.stringify(text));
});

test('address: IPv4 prefixes', () => {
  assert.equal(ipv4PrefixMask(0), 0);
  assert.equal(ipv4PrefixMask(1), 0x80000000);
  assert.equal(ipv4PrefixMask(24), 0xffffff00);
  assert.equal(ipv4PrefixMask(32), 0xffffffff);
  assert.equal(ipv4InPrefix(0xc0a80105, 0xc0a80100, 24), true);
  assert.equal(ipv4InPrefix(0xc0a80205, 0xc0a80100, 24), false);
  assert.equal(ipv4InPrefix(0x01020304, 0, 0), true);
  assert.equal(ipv4InPrefix(0xffffffff, 0xffffffff, 32), true);
  assert.equal(ipv4InPrefix(0xfffffffe, 0xffffffff, 32), false);
  assert.equal(ipv4InPrefix(0xc0a80105, 0xc0a801ff, 24), true, 'host bits of the prefix are ignored');
});

test('address: IPv6 prefixes', () => {
  const p = parseIpv6('2001:db8::')!;
  assert.equal(ipv6InPrefix(parseIpv6('2001:db8:a0b:c00::1')!, p, 32), true);
  assert.equal(ipv6InPrefix(parseIpv6('2001:db9::1')!, p, 32), false);
  assert.equal(ipv6InPrefix(parseIpv6('2001:db9::1')!, p, 31), true);
  assert.equal(ipv6InPrefix(parseIpv6('::1')!, p, 0), true);
  assert.equal(ipv6InPrefix(parseIpv6('2002::1')!, parseIpv6('2002::')!, 16), true);
  assert.equal(ipv6InPrefix(parseIpv6('fe80::1')!, parseIpv6('fe80::')!, 10), true);
  assert.equal(ipv6InPrefix(parseIpv6('febf::1')!, parseIpv6('fe80::')!, 10), true);
  assert.equal(ipv6InPrefix(parseIpv6('fec0::1')!, parseIpv6('fe80::')!, 10), false);
  const a = parseIpv6('2001:db8::5')!;
  assert.equal(ipv6InPrefix(a, a, 128), true);
  assert.equal(ipv6InPrefix(parseIpv6('2001:db8::4')!, a, 128), false);
  assert.equal(ipv6InPrefix(parseIpv6('2001:db8::4')!, a, 127), true);
  // In place, at an offset.
  const packet = new Uint8Array(40);
  packet.set(a, 24);
  assert.equal(ipv6InPrefix(packet, p, 32, 24), true);
  assert.equal(hex(ipv6PrefixMask(0)), '00'.repeat(16));
  assert.equal(hex(ipv6PrefixMask(10)), 'ffc0' + '00'.repeat(14));
  assert.equal(hex(ipv6PrefixMask(64)), 'ff'.repeat(8) + '00'.repeat(8));
  assert.equal(hex(ipv6PrefixMask(128)), 'ff'.repeat(16));
  assert.equal(ipv6Equal(a, parseIpv6('2001:db8:0::5')!), true);
  assert.equal(ipv6Equal(a, p), false);
  assert.equal(ipv6Equal(packet, a, 24, 0), true);
});

test('address: the classes the martian checks use', () => {
  const v4 = (s: string) => parseIpv4Dotted(s)!;
  assert.equal(isMulticastIpv4(v4('224.0.0.1')), true);
  assert.equal(isMulticastIpv4(v4('239.255.255.255')), true);
  assert.equal(isMulticastIpv4(v4('240.0.0.0')), false);
  assert.equal(isMulticastIpv4(v4('223.255.255.255')), false);
  assert.equal(isBroadcastIpv4(v4('255.255.255.255')), true);
  assert.equal(isBroadcastIpv4(v4('192.168.1.255')), false);
  assert.equal(isZeronetIpv4(v4('0.0.0.0')), true);
  assert.equal(isZeronetIpv4(v4('0.255.1.2')), true);
  assert.equal(isZeronetIpv4(v4('1.0.0.0')), false);
  assert.equal(isLoopbackIpv4(v4('127.0.0.1')), true);
  assert.equal(isLoopbackIpv4(v4('127.255.255.255')), true);
  assert.equal(isLoopbackIpv4(v4('128.0.0.1')), false);
  assert.equal(isLinkLocalIpv4(v4('169.254.1.1')), true);
  assert.equal(isLinkLocalIpv4(v4('169.253.1.1')), false);
  assert.equal(isPrivateIpv4(v4('10.1.2.3')), true);
  assert.equal(isPrivateIpv4(v4('172.16.0.1')), true);
  assert.equal(isPrivateIpv4(v4('172.31.255.255')), true);
  assert.equal(isPrivateIpv4(v4('172.32.0.1')), false);
  assert.equal(isPrivateIpv4(v4('192.168.1.10')), true);
  assert.equal(isPrivateIpv4(v4('203.0.113.5')), false);
  const v6 = (s: string) => parseIpv6(s)!;
  assert.equal(isMulticastIpv6(v6('ff02::1')), true);
  assert.equal(isMulticastIpv6(v6('fe80::1')), false);
  assert.equal(isLinkLocalIpv6(v6('fe80::1')), true);
  assert.equal(isLinkLocalIpv6(v6('febf::1')), true);
  assert.equal(isLinkLocalIpv6(v6('fec0::1')), false);
  assert.equal(isUnspecifiedIpv6(v6('::')), true);
  assert.equal(isUnspecifiedIpv6(v6('::1')), false);
  assert.equal(isLoopbackIpv6(v6('::1')), true);
  assert.equal(isLoopbackIpv6(v6('::2')), false);
  assert.equal(isV4MappedIpv6(v6('::ffff:1.2.3.4')), true);
  assert.equal(isV4MappedIpv6(v6('::1.2.3.4')), false);
});
