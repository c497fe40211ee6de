import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BurrowError } from '../errors.js';
import { internetChecksum } from '../wire/checksum.js';
import { planAdd, reportedParams } from './admin.js';
import { decapsulate } from './ip-tunnel.js';
import { newDecapResult, newEncapResult } from './mode.js';
import { GRE_KEY, VTI_ISVTI } from './params.js';
import { TunnelTable } from './table.js';
import { ip, ipv4Echo, params } from './test-helpers.js';
import { Tunnel } from './tunnel.js';
import { encapsulateVti, receiveVti } from './vti.js';

const A = ip('192.168.1.10');
const B = ip('192.168.2.20');

test('vti_tunnel_ctl: keys only with their flag, i_flags VTI_ISVTI; both key flags reported', () => {
  const table = new TunnelTable();
  const cases: Array<[Partial<ReturnType<typeof params>>, { iflags: number; oflags: number; ikey: number; okey: number }]> = [
    [{}, { iflags: VTI_ISVTI | GRE_KEY, oflags: GRE_KEY, ikey: 0, okey: 0 }],
    [{ iflags: VTI_ISVTI | GRE_KEY, oflags: GRE_KEY, ikey: 42, okey: 42 }, { iflags: VTI_ISVTI | GRE_KEY, oflags: GRE_KEY, ikey: 42, okey: 42 }],
    [{ iflags: VTI_ISVTI, ikey: 5, okey: 6 }, { iflags: VTI_ISVTI | GRE_KEY, oflags: GRE_KEY, ikey: 0, okey: 0 }],
  ];
  for (const [fields, expected] of cases) {
    const p = reportedParams(planAdd(table, params({ name: 'vti1', mode: 'vti', local: A, remote: B, ...fields }), () => false));
    assert.deepEqual({ iflags: p.iflags, oflags: p.oflags, ikey: p.ikey, okey: p.okey }, expected);
  }
});

test('vti identity ignores keys (EEXIST), and vti has a table of its own', () => {
  const table = new TunnelTable();
  const t = new Tunnel(planAdd(table, params({ name: 'vti1', mode: 'vti', local: A, remote: B, iflags: GRE_KEY, ikey: 1 }), () => false));
  t.up = true;
  table.add(t);
  assert.throws(
    () => planAdd(table, params({ name: 'vti2', mode: 'vti', local: A, remote: B, iflags: GRE_KEY, ikey: 2 }), () => false),
    (e: unknown) => e instanceof BurrowError && e.code === 'EEXIST',
  );
  // An ipip tunnel with the same endpoints is another driver's.
  assert.doesNotThrow(() => planAdd(table, params({ name: 'ipip1', mode: 'ipip', local: A, remote: B }), () => false));
  assert.equal(table.lookupVti(0, B, A), t);
  assert.equal(table.lookupIp(4, 0, { present: false, value: 0 }, B, A), null);
});

test('vti without an IPsec state: transmit is xfrm-out-no-state; ESP from the peer is charged to the vti', () => {
  const table = new TunnelTable();
  const t = new Tunnel(params({ name: 'vti1', mode: 'vti', local: A, remote: B }));
  t.up = true;
  table.add(t);
  const pkt = ipv4Echo('10.0.0.1', '10.0.0.2');
  assert.equal(encapsulateVti(t, pkt.bytes, pkt.start, pkt.length, newEncapResult()), 'xfrm-out-no-state');
  t.drop('xfrm-out-no-state');
  assert.deepEqual([t.stats.txCarrierErrors, t.stats.txErrors], [1, 1]);

  const esp = Buffer.alloc(20 + 40);
  esp[0] = 0x45;
  esp.writeUInt16BE(esp.length, 2);
  esp[8] = 64;
  esp[9] = 50;
  esp.writeUInt32BE(B, 12);
  esp.writeUInt32BE(A, 16);
  esp.writeUInt16BE(internetChecksum(esp, 0, 20), 10);
  const out = newDecapResult();
  assert.equal(decapsulate(receiveVti, table, esp, 0, esp.length, 0, out), 'xfrm-in-no-state');
  assert.equal(out.tunnel, t);
  esp.writeUInt32BE(ip('192.168.3.30'), 12);
  esp.writeUInt16BE(0, 10);
  esp.writeUInt16BE(internetChecksum(esp, 0, 20), 10);
  assert.equal(decapsulate(receiveVti, table, esp, 0, esp.length, 0, out), 'xfrm-in-no-state');
  assert.equal(out.tunnel, null, 'no vti matches: not charged to one');
});
