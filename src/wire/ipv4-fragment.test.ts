import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internetChecksum } from './checksum.js';
import { fragmentIpv4, ipv4FragmentCount } from './ipv4-fragment.js';
import { Ipv4View, writeIpv4Header } from './ipv4.js';

function packet(total: number, options: number[] = []): Uint8Array {
  const headerLength = 20 + options.length;
  const p = new Uint8Array(total);
  writeIpv4Header(p, 0, 0xb8, total, 0, false, 64, 47, 0xc0000201, 0xc6336401);
  p[0] = 0x40 | (headerLength >> 2);
  p.set(options, 20);
  for (let i = headerLength; i < total; i++) p[i] = i & 0xff;
  p[10] = p[11] = 0;
  const sum = internetChecksum(p, 0, headerLength);
  p[10] = sum >> 8;
  p[11] = sum;
  return p;
}

function cut(p: Uint8Array, mtu: number, id = 0x1234) {
  const out = new Uint8Array(4096);
  const offsets = new Uint32Array(64);
  const lengths = new Uint32Array(64);
  const n = fragmentIpv4(p, 0, p.length, mtu, id, out, 0, offsets, lengths, 0, 64);
  return Array.from({ length: n }, (_, k) => out.subarray(offsets[k], offsets[k] + lengths[k]));
}

test('ipv4 fragments: 1520 bytes at MTU 1500 make 1500 (MF, offset 0) and 40 (offset 185), as ip_do_fragment cuts', () => {
  const frags = cut(packet(1520), 1500);
  assert.equal(frags.length, 2);
  const [a, b] = frags.map((f) => new Ipv4View(f));
  assert.deepEqual([a.check(), a.totalLength, a.moreFragments, a.fragmentOffset, a.id, a.dontFragment], [null, 1500, true, 0, 0x1234, false]);
  assert.deepEqual([b.check(), b.totalLength, b.moreFragments, b.fragmentOffset, b.id], [null, 40, false, 1480, 0x1234]);
  assert.deepEqual([a.tos, a.ttl, a.protocol, b.tos, b.ttl, b.protocol], [0xb8, 64, 47, 0xb8, 64, 47]);
  assert.deepEqual(Buffer.concat([frags[0].subarray(20), frags[1].subarray(20)]), Buffer.from(packet(1520).subarray(20)));
});

test('ipv4 fragments: payload in multiples of 8; at MTU 68 each fragment carries 48 bytes', () => {
  assert.equal(ipv4FragmentCount(1500, 20, 68), Math.ceil(1480 / 48));
  const frags = cut(packet(200), 68);
  assert.deepEqual(frags.map((f) => f.length), [68, 68, 68, 56]);
  assert.deepEqual(frags.map((f) => new Ipv4View(f).fragmentOffset), [0, 48, 96, 144]);
  assert.equal(ipv4FragmentCount(100, 60, 67), 0, 'no room for 8 bytes: cannot fragment');
});

test('ipv4 fragments: the first keeps every option, later ones NOP the options not marked copied', () => {
  // Record route (7, not copied, 7 bytes), then a copied option 0x94 (router alert, 4 bytes), then a NOP.
  const options = [7, 7, 4, 0, 0, 0, 0, 0x94, 4, 0, 0, 1];
  const frags = cut(packet(140, options), 88);
  assert.ok(frags.length >= 2);
  assert.deepEqual([...frags[0].subarray(20, 32)], options);
  for (const f of frags.slice(1)) {
    assert.deepEqual([...f.subarray(20, 32)], [1, 1, 1, 1, 1, 1, 1, 0x94, 4, 0, 0, 1]);
    assert.equal(new Ipv4View(f).check(), null);
    assert.equal(f[0], 0x48, 'same header length (32 bytes)');
  }
});

test('ipv4 fragments: a fragment cut again keeps its offset and its MF on the last piece', () => {
  const p = packet(820);
  // Make it the middle fragment of something: offset 100 units, MF set.
  p[6] = 0x20;
  p[7] = 100;
  p[10] = p[11] = 0;
  const sum = internetChecksum(p, 0, 20);
  p[10] = sum >> 8;
  p[11] = sum;
  const frags = cut(p, 420);
  assert.deepEqual(frags.map((f) => new Ipv4View(f).fragmentOffset), [800, 800 + 400]);
  assert.deepEqual(frags.map((f) => new Ipv4View(f).moreFragments), [true, true]);
});

test('ipv4 fragments: refused, not written, when the output or the fragment count is too small', () => {
  const p = packet(1520);
  const offsets = new Uint32Array(4);
  const lengths = new Uint32Array(4);
  assert.equal(fragmentIpv4(p, 0, p.length, 1500, 1, new Uint8Array(100), 0, offsets, lengths, 0, 4), 0);
  assert.equal(fragmentIpv4(p, 0, p.length, 100, 1, new Uint8Array(4096), 0, offsets, lengths, 0, 4), 0);
});
