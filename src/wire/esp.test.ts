import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emitEsp, espTrailer, EspView, parseEsp, writeEspTrailer } from './esp.js';

// An ESP packet laid out as the kernel's esp4 sends one for rfc4106 (spi 0x100, seq 1): header, 8-byte IV,
// 24 bytes of ciphertext, 16-byte ICV (synthetic bytes; the real exchange is test/interop/esp.test.ts).
const PACKET = Buffer.from('00000100000000010001020304050607' + 'aa'.repeat(24) + 'bb'.repeat(16), 'hex');

test('ESP: deconstruct with the SA lengths (GCM: 8-byte IV, 16-byte ICV)', () => {
  const view = new EspView(PACKET).setLengths(8, 16);
  assert.equal(view.check(), null);
  assert.deepEqual(parseEsp(view), { spi: 0x100, sequence: 1 });
  assert.equal(view.ivOffset, 8);
  assert.equal(view.cipherOffset, 16);
  assert.equal(view.cipherLength, 24);
  assert.equal(view.icvOffset, 40);
});

test('ESP: construct into a 0xa5 buffer writes every header byte', () => {
  const bytes = Buffer.alloc(8, 0xa5);
  assert.equal(emitEsp({ spi: 0xdeadbeef, sequence: 0x01020304 }, bytes, 0), 8);
  assert.deepEqual(bytes, Buffer.from('deadbeef01020304', 'hex'));
});

test('ESP: every cut shorter than header + IV + trailer + ICV is truncated', () => {
  const view = new EspView().setLengths(8, 16);
  for (let n = 0; n < 8 + 8 + 2 + 16; n++) assert.equal(view.reset(PACKET, 0, n).check(), 'truncated', `length ${n}`);
  assert.equal(view.reset(PACKET, 0, 34).check(), null);
  assert.equal(view.reset(PACKET, 30, 40).check(), 'truncated', 'a range past the end of the buffer');
});

test('ESP trailer: padding 1, 2, 3..., pad length, next header; read back from the plaintext end', () => {
  const bytes = Buffer.alloc(16, 0xa5);
  const end = writeEspTrailer(bytes, 10, 3, 4);
  assert.equal(end, 15);
  assert.deepEqual([...bytes.subarray(10, 15)], [1, 2, 3, 3, 4]);
  assert.deepEqual(espTrailer(bytes, 0, 15), { payloadLength: 10, nextHeader: 4 });
  assert.equal(espTrailer(Buffer.from([9, 4]), 0, 2), null, 'a pad length longer than the plaintext');
});
