/**
 * IPv4 fragmentation (wire/ipv4-fragment.ts), against an independent reassembly: the fragments of any
 * packet, at any MTU from 68, put back together give the packet's payload; each fragment fits, is a
 * valid header, and says where it belongs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fragmentIpv4, ipv4FragmentCount } from '../../src/wire/ipv4-fragment.js';
import { Ipv4View } from '../../src/wire/ipv4.js';
import { budget } from './budget.js';
import { ipv4Inner } from './tunnel-gen.js';

const fuzz = budget('fragment', 500);

test('fuzz: IPv4 fragments reassemble to the original payload, each within the MTU', () => {
  const out = new Uint8Array(1 << 17);
  const offsets = new Uint32Array(2048);
  const lengths = new Uint32Array(2048);
  fuzz.check(
    fc.property(ipv4Inner, fc.integer({ min: 68, max: 1600 }), fc.integer({ min: 1, max: 0xffff }), (p0, mtu, id) => {
      const p = p0.slice();
      p[6] &= ~0x40; // DF clear: what may be fragmented
      const view = new Ipv4View(p);
      view.fillChecksum();
      const headerLength = view.headerLength;
      const n = fragmentIpv4(p, 0, p.length, mtu, id, out, 0, offsets, lengths, 0, 2048);
      assert.equal(n, ipv4FragmentCount(p.length, headerLength, mtu));
      if (n === 0) {
        assert.ok(((mtu - headerLength) & ~7) < 8);
        return;
      }
      const payload = new Uint8Array(p.length - headerLength);
      let covered = 0;
      for (let k = 0; k < n; k++) {
        const f = out.subarray(offsets[k], offsets[k] + lengths[k]);
        const v = new Ipv4View(f);
        assert.equal(v.check(), null);
        assert.ok(f.length <= mtu, 'fits the MTU');
        assert.equal(v.headerLength, headerLength);
        assert.equal(v.id, id);
        assert.equal(v.dontFragment, false);
        assert.equal(v.moreFragments, k < n - 1);
        assert.deepEqual([v.tos, v.ttl, v.protocol, v.src, v.dst], [view.tos, view.ttl, view.protocol, view.src, view.dst]);
        if (k < n - 1) assert.equal(v.payloadLength % 8, 0, 'a multiple of 8 but the last');
        assert.equal(v.fragmentOffset, covered, 'in order, no gap, no overlap');
        payload.set(f.subarray(headerLength), v.fragmentOffset);
        covered += v.payloadLength;
      }
      assert.equal(covered, payload.length);
      assert.deepEqual(payload, p.subarray(headerLength));
      // The first fragment has the original options; all have the original header length.
      const first = out.subarray(offsets[0], offsets[0] + headerLength);
      assert.deepEqual(first.subarray(20), p.subarray(20, headerLength));
    }),
  );
});
