import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, loadFixture } from '../../test/fixtures/hex.js';
import { emitVxlan, parseVxlan, vxlanHeaderLength, VxlanView, writeVxlanHeader } from './vxlan.js';

// vxlan-arp-icmp.hex: the kernel's vxlan (`id 100 dstport 4789`) carrying ARP and an echo request;
// outer Ethernet 14 + IPv4 20 + UDP 8, so VXLAN starts at 42 and the inner frame at 50.
const FRAMES = loadFixture('vxlan-arp-icmp');
const AT = 42;
const VNI_100 = fromHex('0800 0000 0000 6400'); // spec 3.11: VNI 100

function filled(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}

test('vxlan: deconstruct the kernel headers', () => {
  for (const frame of FRAMES) {
    const view = new VxlanView(frame, AT);
    assert.equal(view.check(), null);
    assert.equal(view.flags, 0x08);
    assert.equal(view.vni, 100);
    assert.equal(view.payloadOffset, 50);
    assert.equal(view.payloadLength, frame.length - 50);
    assert.deepEqual(frame.subarray(AT, AT + 8), VNI_100);
  }
});

test('vxlan: construct into a 0xa5 buffer', () => {
  const out = filled(10);
  writeVxlanHeader(out, 1, 100);
  assert.deepEqual(out.subarray(1, 9), VNI_100);
  assert.equal(out[0], 0xa5);
  assert.equal(out[9], 0xa5);
  writeVxlanHeader(out, 0, 0xffffff);
  assert.deepEqual(out.subarray(0, 8), fromHex('0800 0000 ffff ff00'));
});

test('vxlan: parse to the record', () => {
  assert.deepEqual(parseVxlan(new VxlanView(FRAMES[2], AT)), { vni: 100 });
  assert.deepEqual(parseVxlan(new VxlanView(fromHex('0800 0000 1234 5600'))), { vni: 0x123456 });
});

test('vxlan: emit the record', () => {
  const out = filled(8);
  assert.equal(vxlanHeaderLength({ vni: 100 }), 8);
  assert.equal(emitVxlan({ vni: 100 }, out, 0), 8);
  assert.deepEqual(out, VNI_100);
});

test('vxlan: truncation', () => {
  for (let n = 0; n < 8; n++) {
    assert.equal(new VxlanView(FRAMES[0], AT, n).check(), 'truncated');
    assert.equal(parseVxlan(new VxlanView(VNI_100.slice(0, n))), 'truncated');
  }
  assert.equal(new VxlanView(VNI_100, 0, 9).check(), 'truncated');
  assert.equal(new VxlanView(VNI_100, 0, 8).check(), null);
});

test('vxlan: the I flag is required and every reserved bit must be zero (vxlan_rcv)', () => {
  assert.equal(new VxlanView(fromHex('0000 0000 0000 6400')).check(), 'bad-flags');
  assert.equal(new VxlanView(fromHex('f700 0000 0000 6400')).check(), 'bad-flags');
  for (let byte = 0; byte < 8; byte++) {
    if (byte >= 4 && byte <= 6) continue; // the VNI
    for (let bit = 0; bit < 8; bit++) {
      const b = VNI_100.slice();
      if (byte === 0 && bit === 3) continue; // the I flag itself
      b[byte] ^= 1 << bit;
      assert.equal(new VxlanView(b).check(), 'reserved-set', `byte ${byte} bit ${bit}`);
    }
  }
  // GBP (0x80) and GPE (0x04) flags are extensions burrow does not enable.
  assert.equal(new VxlanView(fromHex('8800 0000 0000 6400')).check(), 'reserved-set');
  assert.equal(new VxlanView(fromHex('0c00 0000 0000 6400')).check(), 'reserved-set');
});
