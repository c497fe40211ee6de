/**
 * Joining the two families (the text forms themselves are wire/address.ts's, tested there). The
 * expected IPv6 strings are what glibc's inet_ntop (the function `ip` prints with) returned for the
 * same addresses, through Python's socket.inet_ntop on this machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp, ipEquals, maskIp, parsePrefix, parseIp } from './ip-address.js';

test('IPv4: host-order numbers', () => {
  assert.equal(parseIp('192.168.0.1'), 0xc0a80001);
  assert.equal(parseIp('255.255.255.255'), 0xffffffff);
  assert.equal(formatIp(0xc0a80001), '192.168.0.1');
  assert.equal(formatIp(0), '0.0.0.0');
});

test('IPv6: glibc inet_ntop text', () => {
  const cases: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['::2', '::2'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['1::', '1::'],
    ['1:0:0:1::1', '1:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80::1cfa:a1ff:fe74:6be4', 'fe80::1cfa:a1ff:fe74:6be4'],
    ['0:0:0:0:0:ffff:0:0', '::ffff:0.0.0.0'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
    ['0:0:0:0:1::', '::1:0:0:0'],
    ['2001:DB8::A', '2001:db8::a'],
  ];
  for (const [input, printed] of cases) {
    const a = parseIp(input);
    assert.ok(a instanceof Uint8Array && a.length === 16, input);
    assert.equal(formatIp(a), printed, input);
    assert.ok(ipEquals(parseIp(printed), a));
  }
  assert.deepEqual([...(parseIp('2001:db8::1') as Uint8Array)], [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
});

test('bad text is EINVAL', () => {
  for (const bad of ['', '1.2.3', '256.1.1.1', '1::2::3', 'x', '192.0.2.1/24', 'fe80::1%eth0']) {
    assert.throws(() => parseIp(bad), { code: 'EINVAL' }, bad);
  }
});

test('prefixes', () => {
  assert.deepEqual(parsePrefix('192.0.2.0/24'), { address: 0xc0000200, length: 24 });
  assert.equal(parsePrefix('2001:db8::/32').length, 32);
  assert.equal(parsePrefix('192.0.2.1').length, 32);
  assert.throws(() => parsePrefix('192.0.2.0/33'), { code: 'EINVAL' });
  assert.throws(() => parsePrefix('192.0.2.0/x'), { code: 'EINVAL' });
});

test('maskIp', () => {
  assert.equal(maskIp(parseIp('192.0.2.77'), 24), parseIp('192.0.2.0'));
  assert.equal(maskIp(parseIp('192.0.2.77'), 0), 0);
  assert.equal(maskIp(parseIp('192.0.2.77'), 32), parseIp('192.0.2.77'));
  assert.equal(maskIp(parseIp('255.255.255.255'), 1), 0x80000000);
  assert.equal(formatIp(maskIp(parseIp('2001:db8:1:2:3:4:5:6'), 52)), '2001:db8:1::');
  assert.equal(formatIp(maskIp(parseIp('2001:db8:1:ffff::1'), 60)), '2001:db8:1:fff0::');
  assert.equal(formatIp(maskIp(parseIp('2001:db8::1'), 128)), '2001:db8::1');
});
