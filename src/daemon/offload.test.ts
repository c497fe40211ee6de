import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOffloads } from './offload.js';

test('offload: BURROW_OFFLOAD turns offloads on and off, all or by name', () => {
  assert.deepEqual(parseOffloads(undefined), { tso: true, gro: true });
  assert.deepEqual(parseOffloads('on'), { tso: true, gro: true });
  assert.deepEqual(parseOffloads('off'), { tso: false, gro: false });
  assert.deepEqual(parseOffloads('-tso'), { tso: false, gro: true });
  assert.deepEqual(parseOffloads('-gro'), { tso: true, gro: false });
  assert.deepEqual(parseOffloads('tso'), { tso: true, gro: false });
  assert.deepEqual(parseOffloads(' GRO , tso '), { tso: true, gro: true });
  assert.throws(() => parseOffloads('-ufo'), { code: 'EINVAL' });
});
