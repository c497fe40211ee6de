import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptSequence, ecnDecapsulate, EcnAction, outerDf, outerTos, outerTtl } from './rules.js';

test('outer TTL: fixed, inherited from IPv4/IPv6, 64 for non-IP', () => {
  assert.equal(outerTtl(64, 5), 64);
  assert.equal(outerTtl(0, 5), 5);
  assert.equal(outerTtl(0, 1), 1);
  assert.equal(outerTtl(0, -1), 64);
});

test('outer TOS: fixed or inherited DS field; ECN follows the inner packet, CE sent as ECT(0)', () => {
  assert.equal(outerTos(0x10, 0x00), 0x10);
  assert.equal(outerTos(0x00, 0xb8), 0x00, 'not inherited without bit 0');
  assert.equal(outerTos(0x01, 0xb8), 0xb8);
  assert.equal(outerTos(0x29, -1), 0x28, 'inherit/AF11 with a non-IP payload uses AF11');
  // RFC 6040 encapsulation: 00/01/02/03 -> 00/01/02/02 (selftest vxlan_bridge_1d.sh ecn_test)
  assert.deepEqual([0, 1, 2, 3].map((ecn) => outerTos(0, ecn) & 3), [0, 1, 2, 2]);
  assert.equal(outerTos(0x10, 0x03), 0x12);
});

test('outer DF: pmtudisc, or the inner IPv4 DF', () => {
  assert.equal(outerDf(true, false, false), true);
  assert.equal(outerDf(false, true, true), true);
  assert.equal(outerDf(false, false, true), false);
  assert.equal(outerDf(false, true, false), false);
});

test('ECN decapsulation: the 16 pairs of RFC 6040 as Linux applies them', () => {
  const names = ['not-ect', 'ect1', 'ect0', 'ce'];
  const expected: Record<string, EcnAction> = {};
  for (let outer = 0; outer < 4; outer++) {
    for (let inner = 0; inner < 4; inner++) {
      let action: EcnAction;
      if (inner === 0) action = outer === 0 ? EcnAction.Keep : outer === 3 ? EcnAction.Drop : EcnAction.KeepLogged;
      else if (outer === 3) action = inner !== 3 ? EcnAction.SetCe : EcnAction.Keep;
      else action = outer === 1 && inner === 2 ? EcnAction.SetEct1 : EcnAction.Keep;
      expected[`${names[outer]}/${names[inner]}`] = action;
      assert.equal(ecnDecapsulate(outer, inner), action, `outer ${names[outer]} inner ${names[inner]}`);
    }
  }
  assert.equal(expected['ce/not-ect'], EcnAction.Drop);
  assert.equal(expected['ce/ect0'], EcnAction.SetCe);
  // Found by the fuzz suite: an ECT(0) inner under an ECT(1) outer leaves as ECT(1) (Linux 5.8+).
  assert.equal(expected['ect1/ect0'], EcnAction.SetEct1);
});

test('sequence window: serial-number comparison with wrap, 0 accepts anything', () => {
  assert.equal(acceptSequence(0, 12345), 12346);
  assert.equal(acceptSequence(10, 10), 11);
  assert.equal(acceptSequence(10, 9), -1);
  assert.equal(acceptSequence(10, 100), 101, 'gaps are accepted');
  assert.equal(acceptSequence(0xfffffff0, 5), 6, 'wrap: 5 is after 0xfffffff0');
  assert.equal(acceptSequence(5, 0xfffffff0), -1, 'and 0xfffffff0 is before 5');
  assert.equal(acceptSequence(0xffffffff, 0xffffffff), 0, 'the next expected wraps to 0 (accepts any)');
});
