import assert from 'node:assert/strict';
import { test } from 'node:test';
import { espPaddingLength } from '../wire/esp.js';
import { SecurityAssociation, type EspTransform } from './sa.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const GCM: EspTransform = { kind: 'aead', name: 'rfc4106(gcm(aes))', key: hex('00112233445566778899aabbccddeeff01020304'), icvBits: 128 };
const CBC: EspTransform = {
  kind: 'cbc-hmac',
  encryption: hex('000102030405060708090a0b0c0d0e0f'),
  authentication: hex('101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f'),
  icvBits: 128,
};
const inner = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));

test('ESP padding: payload + padding + 2 aligned to the block (at least 4)', () => {
  const cases: Array<[number, number, number]> = [
    [84, 4, 2],
    [86, 4, 0],
    [84, 16, 10],
    [94, 16, 0],
    [1, 1, 1],
  ];
  for (const [length, block, pad] of cases) assert.equal(espPaddingLength(length, block), pad, `${length}/${block}`);
});

for (const [name, transform, ivLength] of [['rfc4106(gcm(aes))', GCM, 8], ['cbc(aes)+hmac(sha256)', CBC, 16]] as const) {
  test(`${name}: round trip, layout, sequence numbers from 1`, () => {
    const tx = new SecurityAssociation({ spi: 0x1000, transform, replayWindow: 32 });
    const rx = new SecurityAssociation({ spi: 0x1000, transform, replayWindow: 32 });
    for (const n of [20, 84, 1400]) {
      const esp = tx.encrypt(inner(n), 4)!;
      assert.equal(esp.readUInt32BE(0), 0x1000);
      assert.equal(esp.length, tx.overhead(n) + n);
      assert.equal((esp.length - 8 - ivLength - 16) % (ivLength === 8 ? 4 : 16), 0);
      const r = rx.decrypt(esp);
      assert.ok(typeof r !== 'string', String(r));
      assert.deepEqual(r.inner, inner(n));
      assert.equal(r.nextHeader, 4);
    }
    assert.equal(tx.outboundSequence, 3);
    assert.deepEqual(rx.stats, { replayWindow: 0, replay: 0, integrityFailed: 0, bytes: 20 + 84 + 1400, packets: 3 });
  });

  test(`${name}: a flipped bit anywhere is an integrity failure, counted`, () => {
    const tx = new SecurityAssociation({ spi: 7, transform, replayWindow: 32 });
    const rx = new SecurityAssociation({ spi: 7, transform, replayWindow: 32 });
    const esp = tx.encrypt(inner(60), 4)!;
    for (const at of [4, 8, 8 + ivLength, esp.length - 1]) {
      const bad = Buffer.from(esp);
      bad[at] ^= 0x01;
      assert.equal(rx.decrypt(bad), 'esp-integrity', `byte ${at}`);
    }
    assert.equal(rx.stats.integrityFailed, 4);
    assert.ok(typeof rx.decrypt(esp) !== 'string', 'the original still passes: failures do not move the window');
  });
}

test('anti-replay window (xfrm_replay_check_legacy): duplicates, too old, reordering within the window', () => {
  const tx = new SecurityAssociation({ spi: 1, transform: GCM, replayWindow: 4 });
  const rx = new SecurityAssociation({ spi: 1, transform: GCM, replayWindow: 4 });
  const packets = Array.from({ length: 8 }, () => tx.encrypt(inner(30), 4)!);
  const deliver = (seq: number) => {
    const r = rx.decrypt(packets[seq - 1]);
    return typeof r === 'string' ? r : 'ok';
  };
  const steps: Array<[number, string]> = [
    [1, 'ok'],
    [3, 'ok'],
    [2, 'ok'], // late but inside the window
    [2, 'esp-replay'],
    [8, 'ok'],
    [5, 'ok'], // 8 - 5 = 3 < 4
    [4, 'esp-replay-window'], // 8 - 4 = 4 >= 4
    [8, 'esp-replay'],
  ];
  for (const [seq, expected] of steps) assert.equal(deliver(seq), expected, `seq ${seq}`);
  assert.deepEqual([rx.stats.replay, rx.stats.replayWindow, rx.stats.packets], [2, 1, 5]);
  // Window 0: no replay protection (the kernel's default).
  const open = new SecurityAssociation({ spi: 1, transform: GCM, replayWindow: 0 });
  assert.ok(typeof open.decrypt(packets[0]) !== 'string');
  assert.ok(typeof open.decrypt(packets[0]) !== 'string');
});

test('key and ICV lengths are checked', () => {
  assert.throws(() => new SecurityAssociation({ spi: 1, transform: { ...GCM, key: hex('00112233445566778899aabbccddeeff') }, replayWindow: 0 }));
  assert.throws(() => new SecurityAssociation({ spi: 1, transform: { ...GCM, icvBits: 100 }, replayWindow: 0 }));
  assert.throws(() => new SecurityAssociation({ spi: 1, transform: { ...CBC, icvBits: 100 }, replayWindow: 0 }));
  assert.throws(() => new SecurityAssociation({ spi: 1, transform: { ...CBC, icvBits: 264 }, replayWindow: 0 }));
  // `auth hmac(sha256)` is truncated to 96 bits by the kernel: accepted.
  assert.equal(new SecurityAssociation({ spi: 1, transform: { ...CBC, icvBits: 96 }, replayWindow: 0 }).icvLength, 12);
});

test('seal and open work in place: header and IV before the inner packet, trailer and ICV after', () => {
  for (const transform of [GCM, CBC]) {
    const tx = new SecurityAssociation({ spi: 0x42, transform, replayWindow: 32 });
    const rx = new SecurityAssociation({ spi: 0x42, transform, replayWindow: 32 });
    const bytes = Buffer.alloc(256, 0xa5);
    const at = 64;
    inner(100).copy(bytes, at);
    const length = tx.seal(bytes, at, 100, 4);
    const espStart = at - tx.headerLength;
    assert.equal(length, tx.overhead(100) + 100);
    assert.equal(bytes.readUInt32BE(espStart), 0x42);
    assert.equal(bytes.readUInt32BE(espStart + 4), 1);
    assert.equal(bytes[espStart - 1], 0xa5, 'nothing written before the ESP header');
    assert.equal(bytes[espStart + length], 0xa5, 'nothing written after the ICV');
    const out = { start: 0, length: 0, nextHeader: 0 };
    assert.equal(rx.open(bytes, espStart, length, out), null);
    assert.equal(out.start, at, 'the inner packet is back where it was');
    assert.deepEqual(bytes.subarray(out.start, out.start + out.length), inner(100));
    assert.equal(out.nextHeader, 4);
  }
});

test('an SA whose 32-bit sequence numbers are used up seals nothing', () => {
  const tx = new SecurityAssociation({ spi: 1, transform: GCM, replayWindow: 0 });
  tx.outboundSequence = 0xfffffffe;
  assert.ok(tx.encrypt(inner(20), 4) !== null);
  assert.equal(tx.encrypt(inner(20), 4), null);
  assert.equal(tx.stats.packets, 1);
});
