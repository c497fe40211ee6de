import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DsfieldTable, parseRtTable } from './dsfield.js';
import {
  formatIpv4,
  formatIpv6,
  getAddr32,
  getIpv4Prefix,
  getIpv6Prefix,
  getU8,
  getUnsigned,
  parseIpv4,
  parseIpv6,
  strtoul,
} from './inet.js';
import { linkIndex, linkName, staticLinks } from './links.js';
import { UsageError } from './usage-errors.js';

describe('strtoul as glibc', () => {
  it('bases, blanks, signs, partial reads', () => {
    assert.deepEqual(strtoul('42', 0), { value: 42n, end: 2, overflow: false });
    assert.deepEqual(strtoul('0x1f', 0), { value: 31n, end: 4, overflow: false });
    assert.deepEqual(strtoul('010', 0), { value: 8n, end: 3, overflow: false });
    assert.deepEqual(strtoul('09', 0), { value: 0n, end: 1, overflow: false });
    assert.deepEqual(strtoul('0x', 0), { value: 0n, end: 1, overflow: false });
    assert.deepEqual(strtoul(' \t7', 0), { value: 7n, end: 3, overflow: false });
    assert.deepEqual(strtoul('-1', 0), { value: (1n << 64n) - 1n, end: 2, overflow: false });
    assert.deepEqual(strtoul('-0', 0), { value: 0n, end: 2, overflow: false });
    assert.deepEqual(strtoul('x', 0), { value: 0n, end: 0, overflow: false });
    assert.deepEqual(strtoul('-', 0), { value: 0n, end: 0, overflow: false });
    assert.equal(strtoul('99999999999999999999999', 10).overflow, true);
    assert.deepEqual(strtoul('ff', 16), { value: 255n, end: 2, overflow: false });
    assert.deepEqual(strtoul('0x10', 16), { value: 16n, end: 4, overflow: false });
  });

  it('get_unsigned and get_u8', () => {
    assert.equal(getUnsigned('4294967295'), 0xffffffff);
    assert.equal(getUnsigned('4294967296'), undefined);
    assert.equal(getUnsigned('-1'), undefined);
    // strtoul wraps the negation modulo 2^64, so this is 1.
    assert.equal(getUnsigned('-18446744073709551615'), 1);
    assert.equal(getUnsigned(''), undefined);
    assert.equal(getUnsigned(' 5'), 5);
    assert.equal(getUnsigned('5 '), undefined);
    assert.equal(getU8('255'), 255);
    assert.equal(getU8('256'), undefined);
    assert.equal(getU8('0x10'), 16);
    assert.equal(getU8('-0'), 0);
    assert.equal(getU8('09'), undefined);
  });
});

describe('IPv4 as iproute2 reads it', () => {
  const good: Array<[string, string]> = [
    ['1.2.3.4', '1.2.3.4'],
    ['1.2.3', '1.2.3.0'],
    ['10.8', '10.8.0.0'],
    ['1', '1.0.0.0'],
    ['0x7f.1', '127.1.0.0'],
    ['010.0.0.1', '8.0.0.1'],
    [' 1.2.3.4', '1.2.3.4'],
    ['1. 2.3.4', '1.2.3.4'],
    ['-0.0.0.1', '0.0.0.1'],
  ];
  for (const [text, expected] of good) {
    it(JSON.stringify(text), () => assert.equal(formatIpv4(parseIpv4(text)!), expected));
  }
  for (const text of ['', '1.', '1.2.3.4.', '1.2.3.4.5', '256.0.0.0', '08.0.0.0', '0x100.0.0.0', '1.2.3.4 ', 'a.b.c.d', '-1.0.0.0', '1..2']) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseIpv4(text), undefined));
  }

  it('get_addr32: any/all/default, and IPv6 refused with exit 1', () => {
    assert.equal(getAddr32('any'), 0);
    assert.equal(getAddr32('all'), 0);
    assert.equal(getAddr32('default'), 0);
    assert.throws(
      () => getAddr32('::1'),
      (e: unknown) => e instanceof UsageError && e.exitCode === 1 && e.message === 'Error: an IP address is expected rather than "::1"',
    );
  });
});

describe('IPv6 as glibc inet_pton/inet_ntop', () => {
  const round: Array<[string, string]> = [
    ['::', '::'],
    ['::1', '::1'],
    ['2002::', '2002::'],
    ['2001:db8::', '2001:db8::'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['fe80::1:0', 'fe80::1:0'],
  ];
  for (const [text, expected] of round) {
    it(`${text} -> ${expected}`, () => assert.equal(formatIpv6(parseIpv6(text)!), expected));
  }
  for (const text of [':', ':::', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '::ffff:01.2.3.4', '1.2.3.4::', 'fe80::1%eth0', ':1::', '1::2:']) {
    it(`rejects ${text}`, () => assert.equal(parseIpv6(text), undefined));
  }
});

describe('prefixes (get_prefix)', () => {
  it('inet', () => {
    assert.deepEqual(getIpv4Prefix('10.0.0.0/8'), { address: 0x0a000000, length: 8 });
    assert.deepEqual(getIpv4Prefix('10/8'), { address: 0x0a000000, length: 8 });
    assert.deepEqual(getIpv4Prefix('10.0.0.0/255.0.0.0'), { address: 0x0a000000, length: 8 });
    assert.deepEqual(getIpv4Prefix('10.0.0.1'), { address: 0x0a000001, length: 32 });
    assert.deepEqual(getIpv4Prefix('any'), { address: 0, length: 0 });
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/255.0.255.0', '2001::/8', 'any/0']) {
      assert.throws(() => getIpv4Prefix(bad), { message: `Error: inet prefix is expected rather than "${bad}".` });
    }
  });

  it('inet6', () => {
    assert.equal(getIpv6Prefix('2001:db8::/32').length, 32);
    assert.equal(getIpv6Prefix('2001:db8::').length, 128);
    assert.equal(getIpv6Prefix('::/0x10').length, 16);
    assert.equal(getIpv6Prefix('any').length, 0);
    for (const bad of ['1.2.3.4/8', '2001:db8::/129', '2001:db8::1%eth0/64', 'any/0']) {
      assert.throws(() => getIpv6Prefix(bad), { message: `Error: inet6 prefix is expected rather than "${bad}".` });
    }
  });
});

describe('rt_dsfield and links', () => {
  it('reads the table format and looks names up case-sensitively', () => {
    const table = new DsfieldTable(parseRtTable('# c\n0x0\tdefault\n  0x28 AF11\n184 EF\nbad line\n'));
    assert.equal(table.parse('AF11'), 0x28);
    assert.equal(table.parse('EF'), 184);
    assert.equal(table.parse('af11'), undefined);
    assert.equal(table.parse('1f'), 0x1f);
    assert.equal(table.parse('100'), undefined);
    assert.equal(table.format(0x28), 'AF11');
    assert.equal(table.format(0x10), '0x10');
  });

  it('dev names: devices, if%u, and if%u for unknown indexes', () => {
    const links = staticLinks({ eth0: 2 });
    assert.equal(linkIndex(links, 'eth0'), 2);
    assert.equal(linkIndex(links, 'if9'), 9);
    assert.equal(linkIndex(links, 'if 3x'), 3);
    assert.equal(linkIndex(links, 'if-1'), 0xffffffff);
    assert.equal(linkIndex(links, 'if'), 0);
    assert.equal(linkIndex(links, 'nope'), 0);
    assert.equal(linkName(links, 2), 'eth0');
    assert.equal(linkName(links, 77), 'if77');
  });
});
