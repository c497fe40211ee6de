/**
 * vti through the engine, two hosts joined by memory ports: ESP out of one and into the other, the
 * device counters (inner bytes), and what the engine writes back into the device (host unreachable
 * without a state, frag-needed with the ESP MTU).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PacketBatch } from '../io/port.js';
import { GRE_KEY, VTI_ISVTI } from '../tunnel/params.js';
import { ip, ipv4Echo, params } from '../tunnel/test-helpers.js';
import { XfrmDatabase } from '../xfrm/database.js';
import { mark, policyRequest, stateRequest, template } from '../xfrm/test-helpers.js';
import { enginePair, type EngineSide } from './test-helpers.js';

const A = '192.168.1.10';
const B = '192.168.2.20';
const clock = () => 1_700_000_000;

function ipsec(db: XfrmDatabase, local: string, remote: string, out: number, inn: number): void {
  db.addState(stateRequest(local, remote, out, { mark: mark(42) }));
  db.addState(stateRequest(remote, local, inn, { mark: mark(42), replayWindow: 32 }));
  db.addPolicy(policyRequest('out', { mark: mark(42), tmpls: [template(local, remote)] }));
  db.addPolicy(policyRequest('in', { mark: mark(42), tmpls: [template(remote, local)] }));
}

function vti(local: string, remote: string) {
  return params({ name: 'vti1', mode: 'vti', local: ip(local), remote: ip(remote), iflags: VTI_ISVTI, oflags: GRE_KEY, ikey: 42, okey: 42 });
}

/** Writes inner packets into a side's device, as its stack would. */
function send(side: EngineSide, packets: Array<{ bytes: Buffer; start: number; length: number }>): void {
  const batch = new PacketBatch(64, 2048, 0);
  for (const p of packets) {
    const at = batch.slotStart(batch.count);
    p.bytes.copy(batch.data, at, p.start, p.start + p.length);
    batch.push(at, p.length);
  }
  side.apps.get('vti1')!.writeBatch(batch);
}

/** Reads what the engine wrote into a side's device, waiting for `count` packets. */
async function received(side: EngineSide, count: number): Promise<Buffer[]> {
  const app = side.apps.get('vti1')!;
  const out: Buffer[] = [];
  const batch = new PacketBatch(64, 2048, 0);
  for (let spins = 0; out.length < count && spins < 1000; spins++) {
    await new Promise((r) => setImmediate(r));
    const n = app.readBatch(batch);
    for (let i = 0; i < n; i++) out.push(Buffer.from(batch.data.subarray(batch.offsets[i], batch.offsets[i]! + batch.lengths[i]!)));
  }
  return out;
}

test('engine: ESP from one vti to the other, inner bytes counted on both devices and states', async () => {
  const dbA = new XfrmDatabase(clock);
  const dbB = new XfrmDatabase(clock);
  ipsec(dbA, A, B, 0x100, 0x200);
  ipsec(dbB, B, A, 0x200, 0x100);
  const pair = enginePair(50, { a: dbA, b: dbB });
  try {
    const ta = pair.attach(pair.a, vti(A, B));
    const tb = pair.attach(pair.b, vti(B, A));
    const echoes = [1, 2, 3].map(() => ipv4Echo('10.0.0.1', '10.0.0.2'));
    send(pair.a, echoes);
    const got = await received(pair.b, 3);
    assert.equal(got.length, 3);
    assert.deepEqual(got[0], echoes[0]!.bytes.subarray(echoes[0]!.start, echoes[0]!.start + echoes[0]!.length));
    assert.deepEqual([ta.stats.txPackets, ta.stats.txBytes, tb.stats.rxPackets, tb.stats.rxBytes], [3, 252, 3, 252]);
    const [out] = dbA.stateList().filter((x) => x.spi === 0x100);
    const [inn] = dbB.stateList().filter((x) => x.spi === 0x100);
    assert.deepEqual([out!.sa.stats.packets, out!.sa.stats.bytes, inn!.sa.stats.packets, inn!.sa.stats.bytes], [3, 252, 3, 252]);
  } finally {
    pair.close();
  }
});

test('engine: a vti without a state tells the sender the host is unreachable; too big gets frag-needed at the ESP MTU', async () => {
  const dbA = new XfrmDatabase(clock);
  const pair = enginePair(50, { a: dbA });
  try {
    const ta = pair.attach(pair.a, vti(A, B));
    send(pair.a, [ipv4Echo('10.0.0.1', '10.0.0.2')]);
    const [unreachable] = await received(pair.a, 1);
    assert.ok(unreachable, 'an ICMP error came back');
    assert.deepEqual([unreachable[9], unreachable[20], unreachable[21]], [1, 3, 1], 'ICMP destination unreachable, host');
    assert.deepEqual([unreachable.readUInt32BE(12), unreachable.readUInt32BE(16)], [ip('10.0.0.2'), ip('10.0.0.1')]);
    assert.deepEqual([ta.stats.txCarrierErrors, ta.stats.txErrors, ta.drops.get('xfrm-out-no-state')], [1, 1, 1]);

    ipsec(dbA, A, B, 0x100, 0x200);
    send(pair.a, [ipv4Echo('10.0.0.1', '10.0.0.2', { payload: 1447 - 28 })]);
    const [fragNeeded] = await received(pair.a, 1);
    assert.ok(fragNeeded);
    assert.deepEqual([fragNeeded[20], fragNeeded[21], fragNeeded.readUInt16BE(26)], [3, 4, 1446], 'frag-needed, next-hop MTU 1446');
  } finally {
    pair.close();
  }
});
