import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BurrowError } from '../errors.js';
import { internetChecksum } from '../wire/checksum.js';
import { XfrmDatabase } from '../xfrm/database.js';
import { mark, policyRequest, selector, stateRequest, template } from '../xfrm/test-helpers.js';
import { planAdd, reportedParams } from './admin.js';
import { countDrop, type DropReason } from './drop.js';
import { decapsulate } from './ip-tunnel.js';
import { newDecapResult, newEncapResult, type Receive } from './mode.js';
import { GRE_KEY, VTI_ISVTI } from './params.js';
import { TunnelTable } from './table.js';
import { ip, ipv4Echo, ipv6Packet, params } from './test-helpers.js';
import { Tunnel } from './tunnel.js';
import { encapsulateVti, receiveVti } from './vti.js';

const A = ip('192.168.1.10');
const B = ip('192.168.2.20');
const clock = () => 1_700_000_000;

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

/** Two hosts' vti1 with key 42 and their own databases: A (192.168.1.10) and B (192.168.2.20). */
function pair(options: { cbc?: boolean; aState?: object; bState?: object; aPolicies?: boolean; bPolicies?: boolean; key?: number } = {}) {
  const key = options.key ?? 42;
  const make = (local: number, remote: number) => {
    const table = new TunnelTable();
    const t = new Tunnel(
      params({ name: 'vti1', mode: 'vti', local, remote, iflags: VTI_ISVTI, oflags: GRE_KEY, ikey: key, okey: key }),
    );
    t.up = true;
    table.add(t);
    return { table, t, xfrm: new XfrmDatabase(clock) };
  };
  const a = make(A, B);
  const b = make(B, A);
  const ab = stateRequest('192.168.1.10', '192.168.2.20', 0x200, { cbc: options.cbc, mark: mark(42), replayWindow: 32 });
  const ba = stateRequest('192.168.2.20', '192.168.1.10', 0x100, { cbc: options.cbc, mark: mark(42), replayWindow: 32 });
  for (const [side, out, inn, local, remote, extra, policies] of [
    [a, ab, ba, '192.168.1.10', '192.168.2.20', options.aState, options.aPolicies],
    [b, ba, ab, '192.168.2.20', '192.168.1.10', options.bState, options.bPolicies],
  ] as const) {
    side.xfrm.addState({ ...out, ...extra });
    side.xfrm.addState({ ...inn, ...extra });
    if (policies !== false) {
      side.xfrm.addPolicy(policyRequest('out', { mark: mark(42), tmpls: [template(local, remote)] }));
      side.xfrm.addPolicy(policyRequest('in', { mark: mark(42), tmpls: [template(remote, local)] }));
    }
  }
  return { a, b };
}

/** A's vti sends `pkt`; the outer packet or the drop. */
function send(side: ReturnType<typeof pair>['a'], pkt: { bytes: Buffer; start: number; length: number }) {
  const out = newEncapResult();
  const reason = encapsulateVti(side.xfrm, side.t, pkt.bytes, pkt.start, pkt.length, out);
  return { reason, out, outer: reason === null ? Buffer.from(pkt.bytes.subarray(out.start, out.start + out.length)) : null };
}

/** B receives an outer packet: the drop (charged to B's vti or not) or the inner packet. */
function receive(side: ReturnType<typeof pair>['b'], outer: Buffer) {
  const receiveOne: Receive = (table, bytes, o, payload, payloadLength, ifindex, out) =>
    receiveVti(side.xfrm, table, bytes, o, payload, payloadLength, ifindex, out);
  const bytes = Buffer.from(outer);
  const out = newDecapResult();
  const reason = decapsulate(receiveOne, side.table, bytes, 0, bytes.length, 0, out);
  if (reason !== null && out.tunnel) out.tunnel.drop(reason);
  return { reason, charged: out.tunnel !== null, inner: reason === null ? bytes.subarray(out.start, out.start + out.length) : null };
}

/** An echo with room behind it for the ESP trailer and ICV. */
function echo(options: Parameters<typeof ipv4Echo>[2] = {}) {
  const p = ipv4Echo('10.0.0.1', '10.0.0.2', options);
  const bytes = Buffer.alloc(p.bytes.length + 64);
  p.bytes.copy(bytes);
  return { bytes, start: p.start, length: p.length };
}

for (const cbc of [false, true]) {
  test(`vti + ESP ${cbc ? 'cbc(aes)+hmac(sha256)' : 'rfc4106(gcm(aes))'}: the outer header, decryption on the peer, state counters`, () => {
    const { a, b } = pair({ cbc });
    const pkt = echo({ tos: 0x13 });
    const inner = Buffer.from(pkt.bytes.subarray(pkt.start, pkt.start + pkt.length));
    const sent = send(a, pkt);
    assert.equal(sent.reason, null);
    const o = sent.outer!;
    assert.equal(o[0], 0x45);
    assert.equal(o[1], 0x12, 'inner DSCP copied, inner CE (3) sent as ECT(0)');
    assert.equal(o.readUInt16BE(4), 0, 'ID 0 with DF');
    assert.equal(o.readUInt16BE(6), 0x4000, 'the inner DF');
    assert.equal(o[8], 64, 'TTL: the route default, not the inner TTL');
    assert.equal(o[9], 50);
    assert.equal(o.readUInt32BE(12), A);
    assert.equal(o.readUInt32BE(16), B);
    assert.equal(internetChecksum(o, 0, 20), 0);
    assert.equal(o.readUInt32BE(20), 0x200, 'SPI');
    assert.equal(o.readUInt32BE(24), 1, 'sequence number');
    assert.equal(sent.out.destination, B);
    const got = receive(b, o);
    assert.equal(got.reason, null);
    inner[1] = 0x13;
    assert.deepEqual(Buffer.from(got.inner!), inner);
    const [out200] = a.xfrm.stateList().filter((x) => x.spi === 0x200);
    const [in200] = b.xfrm.stateList().filter((x) => x.spi === 0x200);
    assert.deepEqual([out200!.sa.stats.packets, out200!.sa.stats.bytes], [1, pkt.length]);
    assert.deepEqual([in200!.sa.stats.packets, in200!.sa.stats.bytes, in200!.sa.inboundSequence], [1, pkt.length, 1]);
    assert.ok(in200!.lastUsed > 0 && out200!.useTime > 0);
    // Replayed, then tampered: dropped, counted on the state and (rx_errors, rx_dropped) on the vti.
    assert.equal(receive(b, o).reason, 'esp-replay');
    const tampered = send(a, echo()).outer!;
    tampered[tampered.length - 20] ^= 0x40;
    assert.equal(receive(b, tampered).reason, 'esp-integrity');
    assert.deepEqual([in200!.sa.stats.replay, in200!.sa.stats.integrityFailed], [1, 1]);
    assert.deepEqual([b.t.stats.rxErrors, b.t.stats.rxDropped], [2, 2]);
  });
}

test('vti transmit: the rules before ESP (table)', () => {
  const cases: Array<{ name: string; setup?: (p: ReturnType<typeof pair>) => void; packet?: () => { bytes: Buffer; start: number; length: number }; reason: DropReason | null; mtu?: number }> = [
    { name: 'states and policies with mark 42', reason: null },
    { name: 'no policy', setup: (p) => p.a.xfrm.flushPolicies(0), reason: 'xfrm-out-no-state' },
    { name: 'no state', setup: (p) => p.a.xfrm.flushStates(0), reason: 'xfrm-out-no-state' },
    { name: 'okey 43', setup: (p) => (p.a.t.params = { ...p.a.t.params, okey: 43 }), reason: 'xfrm-out-no-state' },
    {
      name: 'a block policy of lower priority value',
      setup: (p) => {
        p.a.xfrm.addPolicy(policyRequest('out', { mark: mark(42), action: 1, priority: 0, sel: selector('10.0.0.0/24') }));
        p.a.xfrm.flushPolicies(0);
        p.a.xfrm.addPolicy(policyRequest('out', { mark: mark(42), tmpls: [template('192.168.1.10', '192.168.2.20')], priority: 5 }));
        p.a.xfrm.addPolicy(policyRequest('out', { mark: mark(42), action: 1, priority: 1, sel: selector('10.0.0.0/24') }));
      },
      reason: 'xfrm-out-policy-block',
    },
    {
      name: 'the template and state go to another peer (vti_state_check)',
      setup: (p) => {
        p.a.xfrm.flushPolicies(0);
        p.a.xfrm.addState(stateRequest('192.168.1.10', '192.168.3.30', 0x300, { mark: mark(42) }));
        p.a.xfrm.addPolicy(policyRequest('out', { mark: mark(42), tmpls: [template('192.168.1.10', '192.168.3.30')] }));
      },
      reason: 'xfrm-out-no-state',
    },
    { name: 'no route to the remote', setup: (p) => (p.a.t.route = 'no-route'), reason: 'no-route' },
    { name: 'the route goes into the vti', setup: (p) => (p.a.t.route = 'dead-loop'), reason: 'dead-loop' },
    { name: 'IPv6 inside: no IPv4 selector matches', packet: () => ipv6Packet(new Uint8Array(16), new Uint8Array(16)), reason: 'xfrm-out-no-state' },
    { name: 'a truncated inner packet', packet: () => ({ bytes: Buffer.alloc(128, 0x45), start: 64, length: 10 }), reason: 'tx-malformed' },
    { name: '1446 bytes fit GCM-128 over 1500', packet: () => echo({ payload: 1446 - 28 }), reason: null },
    { name: '1447 bytes do not', packet: () => echo({ payload: 1447 - 28 }), reason: 'too-big', mtu: 1446 },
    { name: 'nor without DF (frag-needed all the same)', packet: () => echo({ payload: 1447 - 28, df: false }), reason: 'too-big', mtu: 1446 },
    { name: 'a path MTU of 1400', setup: (p) => (p.a.t.routeMtu = 1400), packet: () => echo({ payload: 1400 - 28 }), reason: 'too-big', mtu: 1346 },
    {
      name: 'sequence numbers used up',
      setup: (p) => {
        for (const x of p.a.xfrm.stateList()) x.sa.outboundSequence = 0xffffffff;
      },
      reason: 'xfrm-out-seq-overflow',
    },
  ];
  for (const c of cases) {
    const p = pair();
    c.setup?.(p);
    const pkt = c.packet?.() ?? echo();
    const sent = send(p.a, pkt);
    assert.equal(sent.reason, c.reason, c.name);
    if (c.mtu !== undefined) assert.equal(sent.out.mtu, c.mtu, `${c.name}: mtu`);
  }
  const stats = new Tunnel(params({ name: 'x', mode: 'vti' })).stats;
  countDrop(stats, new Map(), 'xfrm-out-no-state');
  assert.deepEqual([stats.txCarrierErrors, stats.txErrors], [1, 1], 'the kernel vti counts its missing state so');
});

test('vti receive: the rules around decryption (table)', () => {
  const cases: Array<{ name: string; setup?: (p: ReturnType<typeof pair>) => void; mutate?: (outer: Buffer) => void; reason: DropReason | null; charged: boolean }> = [
    { name: 'delivered', reason: null, charged: true },
    { name: 'no state for the SPI', setup: (p) => p.b.xfrm.flushStates(0), reason: 'xfrm-in-no-state', charged: true },
    { name: 'the state is marked 43, the vti ikey 42', setup: (p) => p.b.t.params = { ...p.b.t.params, ikey: 43 }, reason: 'xfrm-in-no-state', charged: true },
    { name: 'no inbound policy for the tunnel-mode packet', setup: (p) => p.b.xfrm.flushPolicies(0), reason: 'xfrm-in-policy', charged: true },
    {
      name: 'an inbound policy whose template names another source',
      setup: (p) => {
        p.b.xfrm.flushPolicies(0);
        p.b.xfrm.addPolicy(policyRequest('in', { mark: mark(42), tmpls: [template('192.168.9.9', '192.168.2.20')] }));
      },
      reason: 'xfrm-in-policy',
      charged: true,
    },
    {
      name: 'an unmarked in policy that wants IPsec for the outer ESP packet itself',
      setup: (p) => p.b.xfrm.addPolicy(policyRequest('in', { sel: selector('192.168.1.0/24'), tmpls: [template('192.168.1.10', '192.168.2.20')] })),
      reason: 'xfrm-in-policy',
      charged: false,
    },
    { name: 'the vti is down', setup: (p) => (p.b.t.up = false), reason: 'esp-no-tunnel', charged: false },
    { name: 'from another peer', mutate: (o) => setSource(o, ip('192.168.3.30')), reason: 'esp-no-tunnel', charged: false },
    { name: 'a flipped ciphertext bit', mutate: (o) => (o[o.length - 30] ^= 1), reason: 'esp-integrity', charged: true },
    { name: 'ESP cut to 7 bytes', mutate: (o) => truncate(o, 27), reason: 'esp-malformed', charged: true },
  ];
  for (const c of cases) {
    const p = pair();
    const outer = send(p.a, echo()).outer!;
    c.setup?.(p);
    let o = outer;
    if (c.mutate) {
      o = Buffer.from(outer);
      c.mutate(o);
      if (o.length > outer.length) o = o.subarray(0, o.readUInt16BE(2));
    }
    const got = receive(p.b, o.subarray(0, o.readUInt16BE(2)));
    assert.equal(got.reason, c.reason, c.name);
    assert.equal(got.charged, c.charged, `${c.name}: charged`);
  }
});

test('vti receive: outer CE marks an ECN-capable inner packet', () => {
  const p = pair();
  const outer = send(p.a, echo({ tos: 0x02 })).outer!;
  outer[1] |= 3;
  outer.writeUInt16BE(0, 10);
  outer.writeUInt16BE(internetChecksum(outer, 0, 20), 10);
  const got = receive(p.b, outer);
  assert.equal(got.reason, null);
  assert.equal(got.inner![1]! & 3, 3);
  assert.equal(internetChecksum(got.inner!, 0, 20), 0);
});

function setSource(o: Buffer, address: number): void {
  o.writeUInt32BE(address, 12);
  o.writeUInt16BE(0, 10);
  o.writeUInt16BE(internetChecksum(o, 0, 20), 10);
}

function truncate(o: Buffer, total: number): void {
  o.writeUInt16BE(total, 2);
  o.writeUInt16BE(0, 10);
  o.writeUInt16BE(internetChecksum(o, 0, 20), 10);
}
