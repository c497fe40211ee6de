import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFixture, loadPacket } from '../../test/fixtures/hex.js';
import {
  checksumAdjust,
  foldSum,
  internetChecksum,
  ipv4PseudoHeaderSum,
  ipv6PseudoHeaderSum,
  onesComplementSum,
} from './checksum.js';
import { readIpv4 } from './address.js';

/** The plainest possible RFC 1071 sum, to hold the unrolled one against. */
function reference(bytes: Uint8Array, offset: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += i % 2 === 0 ? bytes[offset + i] << 8 : bytes[offset + i];
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

test('checksum: the RFC 1071 section 3 example', () => {
  // Bytes 00 01 f2 03 f4 f5 f6 f7: the sum is ddf2 (with end-around carry), the checksum its complement.
  const bytes = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
  assert.equal(onesComplementSum(bytes, 0, 8), 0xddf2);
  assert.equal(internetChecksum(bytes, 0, 8), 0x220d);
});

test('checksum: an odd last byte is padded with zero, and ranges honour their offset', () => {
  assert.equal(onesComplementSum(Uint8Array.of(0x01), 0, 1), 0x0100);
  assert.equal(onesComplementSum(Uint8Array.of(0xff, 0x12, 0x34, 0x56), 1, 3), 0x1234 + 0x5600);
  assert.equal(onesComplementSum(new Uint8Array(0), 0, 0), 0);
  assert.equal(onesComplementSum(Uint8Array.of(1, 2), 0, 2, 0xffff), 0x0102); // end-around carry
});

test('checksum: the unrolled loop agrees with a plain one at every length and alignment', () => {
  const bytes = new Uint8Array(300);
  let seed = 12345;
  for (let i = 0; i < bytes.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    bytes[i] = seed >>> 24;
  }
  for (let offset = 0; offset < 4; offset++) {
    for (let length = 0; length <= 280; length++) {
      assert.equal(onesComplementSum(bytes, offset, length), reference(bytes, offset, length), `${offset}+${length}`);
    }
  }
  // All 0xff: the largest words, many carries.
  const ones = new Uint8Array(65536).fill(0xff);
  assert.equal(onesComplementSum(ones, 0, ones.length), 0xffff);
  assert.equal(internetChecksum(ones, 0, ones.length), 0);
});

test('checksum: foldSum folds sums beyond 32 bits', () => {
  assert.equal(foldSum(0), 0);
  assert.equal(foldSum(0xffff), 0xffff);
  assert.equal(foldSum(0x10000), 1);
  assert.equal(foldSum(0x1fffe), 0xffff);
  // 2^16 is 1 modulo 0xffff, so 2^40 folds to 2^8.
  assert.equal(foldSum(2 ** 40 + 5), 0x105);
  assert.equal(foldSum(2 ** 52 - 1), 15);
  assert.equal(foldSum(0xffff * 2 ** 30), 0xffff);
});

test('checksum: captured IPv4 headers verify to zero', () => {
  for (const name of ['ipv4-icmp-echo', 'ipv4-options-rr', 'icmp-frag-needed', 'udp-port-unreachable']) {
    for (const frame of loadFixture(name)) {
      const headerLength = (frame[14] & 0x0f) * 4;
      assert.equal(internetChecksum(frame, 14, headerLength), 0, name);
    }
  }
});

test('checksum: RFC 1624 equation 3, the RFC example and a sweep against recomputation', () => {
  // RFC 1624 section 4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000.
  assert.equal(checksumAdjust(0xdd2f, 0x5555, 0x3285), 0x0000);
  // Every new value of one word of a captured header.
  const frame = loadPacket('ipv4-icmp-echo');
  const header = frame.slice(14, 34);
  for (let word = 0; word <= 0xffff; word += 257) {
    const b = header.slice();
    const old = (b[4] << 8) | b[5];
    const oldSum = (b[10] << 8) | b[11];
    b[4] = word >>> 8;
    b[5] = word;
    const adjusted = checksumAdjust(oldSum, old, word);
    b[10] = 0;
    b[11] = 0;
    assert.equal(adjusted, internetChecksum(b, 0, 20), `id ${word}`);
  }
});

test('checksum: pseudo-header sums make captured UDP and ICMPv6 checksums verify', () => {
  // IPv4 UDP (udp-port-unreachable.hex, first frame): 192.0.2.1.40000 > 198.51.100.2.9, 27 bytes.
  const udp4 = loadPacket('udp-port-unreachable');
  const pseudo4 = ipv4PseudoHeaderSum(readIpv4(udp4, 26), readIpv4(udp4, 30), 17, 27);
  assert.equal(internetChecksum(udp4, 34, 27, pseudo4), 0);
  // IPv6 UDP (udp6-port-unreachable.hex, first frame).
  const udp6 = loadPacket('udp6-port-unreachable');
  const pseudo6 = ipv6PseudoHeaderSum(udp6, 22, udp6, 38, 27, 17);
  assert.equal(internetChecksum(udp6, 54, 27, pseudo6), 0);
  // ICMPv6 echo (ipv6-icmpv6-echo.hex).
  const echo6 = loadPacket('ipv6-icmpv6-echo');
  assert.equal(internetChecksum(echo6, 54, 64, ipv6PseudoHeaderSum(echo6, 22, echo6, 38, 64, 58)), 0);
  // A wrong length or protocol breaks it.
  assert.notEqual(internetChecksum(udp4, 34, 27, ipv4PseudoHeaderSum(readIpv4(udp4, 26), readIpv4(udp4, 30), 6, 27)), 0);
});

test('checksum: the 32-bit word path agrees with a plain sum at every alignment, in shared and pooled buffers', () => {
  const backing = new Uint8Array(4200);
  let seed = 777;
  for (let i = 0; i < backing.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    backing[i] = seed >>> 24;
  }
  for (const base of [0, 1, 2, 3]) {
    const bytes = backing.subarray(base); // byteOffset moves the absolute alignment
    for (let offset = 0; offset < 6; offset++) {
      for (const length of [127, 128, 129, 130, 131, 255, 1460, 1461, 4000]) {
        assert.equal(onesComplementSum(bytes, offset, length, 0x1234), foldSum(reference(bytes, offset, length) + 0x1234), `${base}/${offset}+${length}`);
      }
    }
  }
  const pooled = Buffer.from(backing.subarray(0, 600)); // a slice of Node's shared pool
  assert.equal(onesComplementSum(pooled, 2, 590), reference(pooled, 2, 590));
  const ones = new Uint8Array(65536).fill(0xff);
  assert.equal(onesComplementSum(ones, 2, 65530), 0xffff);
});
