import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketBatch, VNET_HEADER_LENGTH } from './port.js';

test('PacketBatch.push clears the whole offload header of the entry, not only flags and gso_type', () => {
  // A superframe's header (hdr_len 66 among others) left in entry 0 would make the kernel refuse the
  // next short packet written there (tun_get_user checks hdr_len whatever the flags).
  const batch = PacketBatch.forWriting(4);
  batch.vnet.fill(0x42);
  batch.push(0, 42);
  batch.push(100, 60);
  assert.deepEqual([...batch.vnet.subarray(0, 2 * VNET_HEADER_LENGTH)], new Array(2 * VNET_HEADER_LENGTH).fill(0));
  assert.equal(batch.vnet[2 * VNET_HEADER_LENGTH], 0x42, 'entries not pushed are left alone');
});
