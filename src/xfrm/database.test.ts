import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BurrowError } from '../errors.js';
import { OSEQ_RESERVATION, XfrmDatabase } from './database.js';
import { refusalText } from './refusal.js';
import { emptyFlow, type Flow } from './selector.js';
import { addr, mark, policyRequest, selector, stateRequest, template } from './test-helpers.js';

const clock = () => 1_700_000_000;

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof BurrowError)) throw error;
    const r = refusalText(error);
    return r.kind === 'errno' ? error.code : `${r.kind}: ${r.text}`;
  }
  return 'ok';
}

function flow(src: string, dst: string, proto = 1, sport = 8, dport = 0): Flow {
  return { ...emptyFlow(), src: addr(src), dst: addr(dst), proto, sport, dport };
}

test('state identity: (dst, spi, proto) under a mark, as xfrm_state_add finds an existing one (EEXIST)', () => {
  // [existing state, new state, outcome]
  const cases: Array<[string, Parameters<typeof stateRequest>, Parameters<typeof stateRequest>, string]> = [
    ['same id', ['192.0.2.1', '192.0.2.2', 0x100], ['192.0.2.1', '192.0.2.2', 0x100], 'EEXIST'],
    ['another source does not matter', ['192.0.2.1', '192.0.2.2', 0x100], ['192.0.2.9', '192.0.2.2', 0x100], 'EEXIST'],
    ['another destination', ['192.0.2.1', '192.0.2.2', 0x100], ['192.0.2.1', '192.0.2.3', 0x100], 'ok'],
    ['another spi', ['192.0.2.1', '192.0.2.2', 0x100], ['192.0.2.1', '192.0.2.2', 0x101], 'ok'],
    ['spi 0 is never found', ['192.0.2.1', '192.0.2.2', 0], ['192.0.2.1', '192.0.2.2', 0], 'ok'],
    ['marks 42 and 43', ['192.0.2.1', '192.0.2.2', 1, { mark: mark(42) }], ['192.0.2.1', '192.0.2.2', 1, { mark: mark(43) }], 'ok'],
    ['42 vs 42/0xff', ['192.0.2.1', '192.0.2.2', 1, { mark: mark(42) }], ['192.0.2.1', '192.0.2.2', 1, { mark: mark(42, 0xff) }], 'EEXIST'],
    ['0x12a/0xff then 0x2a/0xff', ['192.0.2.1', '192.0.2.2', 1, { mark: mark(0x12a, 0xff) }], ['192.0.2.1', '192.0.2.2', 1, { mark: mark(0x2a, 0xff) }], 'EEXIST'],
    ['0x2a/0xff then 0x22a/0xfff', ['192.0.2.1', '192.0.2.2', 1, { mark: mark(0x2a, 0xff) }], ['192.0.2.1', '192.0.2.2', 1, { mark: mark(0x22a, 0xfff) }], 'EEXIST'],
    ['42 then no mark', ['192.0.2.1', '192.0.2.2', 1, { mark: mark(42) }], ['192.0.2.1', '192.0.2.2', 1], 'ok'],
    ['no mark then 42 (a markless state answers any mark)', ['192.0.2.1', '192.0.2.2', 1], ['192.0.2.1', '192.0.2.2', 1, { mark: mark(42) }], 'EEXIST'],
  ];
  for (const [name, first, second, expected] of cases) {
    const db = new XfrmDatabase(clock);
    db.addState(stateRequest(...first));
    assert.equal(refusal(() => db.addState(stateRequest(...second))), expected, name);
  }
});

test('state get and delete: ESRCH, the mark as value & mask of what is given', () => {
  const db = new XfrmDatabase(clock);
  db.addState(stateRequest('192.0.2.1', '192.0.2.2', 0x200, { mark: mark(0x12a, 0xff) }));
  db.addState(stateRequest('192.0.2.9', '192.0.2.2', 0x200));
  const dst = addr('192.0.2.2');
  const find = (spi: number, m: number) => {
    try {
      const x = db.getState(dst, spi, 50, m);
      return [x.src >>> 24, (x.src >>> 16) & 255, (x.src >>> 8) & 255, x.src & 255].join('.');
    } catch (error) {
      return (error as BurrowError).code;
    }
  };
  // The newest state first, as the kernel's SPI hash chain: a markless state answers any mark.
  const cases: Array<[string, number, number, string]> = [
    ['no mark: the markless state', 0x200, 0, '192.0.2.9'],
    ['mark 0x2a: the markless state is newer', 0x200, 0x2a, '192.0.2.9'],
    ['another spi', 0x201, 0, 'ESRCH'],
    ['spi 0', 0, 0, 'ESRCH'],
  ];
  for (const [name, spi, m, expected] of cases) assert.equal(find(spi, m), expected, name);
  db.deleteState(dst, 0x200, 50, 0);
  const after: Array<[string, number, number, string]> = [
    ['mark 0x2a: the marked state (stored as 0x2a/0xff)', 0x200, 0x2a, '192.0.2.1'],
    ['mark 0x22a: (0x22a & 0xff) == 0x2a', 0x200, 0x22a, '192.0.2.1'],
    ['no mark', 0x200, 0, 'ESRCH'],
  ];
  for (const [name, spi, m, expected] of after) assert.equal(find(spi, m), expected, name);
  assert.deepEqual(db.getState(dst, 0x200, 50, 0x2a).info().mark, { value: 0x2a, mask: 0xff }, 'listed as the kernel stores it');
  db.deleteState(dst, 0x200, 50, 0x2a);
  assert.equal(refusal(() => db.deleteState(dst, 0x200, 50, 0x2a)), 'ESRCH');
  assert.equal(db.stateList().length, 0);
});

test('state checks: the kernel refusals and what burrow does not do', () => {
  const r = (fields: Parameters<typeof stateRequest>[3]) => refusal(() => new XfrmDatabase(clock).addState(stateRequest('192.0.2.1', '192.0.2.2', 1, fields)));
  const cases: Array<[string, Parameters<typeof stateRequest>[3], string]> = [
    ['gcm 128', {}, 'ok'],
    ['cbc + hmac 128', { cbc: true }, 'ok'],
    ['aead 32-bit ICV', { aead: { name: 'rfc4106(gcm(aes))', key: '00'.repeat(20), icvBits: 32 } }, 'extack: Requested AEAD algorithm not found'],
    ['aead unknown', { aead: { name: 'gcm(aes)', key: '00'.repeat(20), icvBits: 128 } }, 'extack: Requested AEAD algorithm not found'],
    ['gcm key of 19 bytes', { aead: { name: 'rfc4106(gcm(aes))', key: '00'.repeat(19), icvBits: 128 } }, 'extack: Kernel was unable to initialize cryptographic operations'],
    ['gcm-256 (36 bytes)', { aead: { name: 'rfc4106(gcm(aes))', key: '00'.repeat(36), icvBits: 64 } }, 'ok'],
    ['rfc4543 is the kernel\'s, not burrow\'s', { aead: { name: 'rfc4543(gcm(aes))', key: '00'.repeat(20), icvBits: 128 } }, 'unsupported'],
    ['enc unknown', { cbc: true, enc: { name: 'cbc(foo)', key: '00'.repeat(16) } }, 'extack: Requested CRYPT algorithm not found'],
    ['aead and enc', { enc: { name: 'cbc(aes)', key: '00'.repeat(16) } }, 'EINVAL'],
    ['enc alias aes', { cbc: true, enc: { name: 'aes', key: '00'.repeat(16) }, auth: { name: 'sha256', key: '01', truncBits: 0, trunc: false } }, 'ok'],
    ['cbc key of 15 bytes', { cbc: true, enc: { name: 'cbc(aes)', key: '00'.repeat(15) } }, 'EINVAL'],
    ['auth-trunc unknown', { cbc: true, auth: { name: 'hmac(foo)', key: '01', truncBits: 128, trunc: true } }, 'extack: Requested AUTH_TRUNC algorithm not found'],
    ['auth unknown', { cbc: true, auth: { name: 'hmac(foo)', key: '01', truncBits: 0, trunc: false } }, 'extack: Requested AUTH algorithm not found'],
    ['trunc 264 > 256', { cbc: true, auth: { name: 'hmac(sha256)', key: '01', truncBits: 264, trunc: true } }, 'extack: Invalid length requested for truncated ICV'],
    ['trunc 100 (12 bytes)', { cbc: true, auth: { name: 'hmac(sha256)', key: '01', truncBits: 100, trunc: true } }, 'ok'],
    ['hmac(sha1)', { cbc: true, auth: { name: 'hmac(sha1)', key: '01', truncBits: 96, trunc: true } }, 'unsupported'],
    ['cbc(des)', { cbc: true, enc: { name: 'cbc(des)', key: '00'.repeat(8) } }, 'unsupported'],
    ['enc without auth', { cbc: true, auth: undefined }, 'unsupported'],
    ['mode transport', { mode: 0 }, 'unsupported'],
    ['proto ah', { proto: 51 }, 'unsupported'],
    ['replay-window 32', { replayWindow: 32 }, 'ok'],
    ['replay-window 64 (ESN bitmap)', { replayWindow: 64 }, 'unsupported'],
    ['a flag', { flags: 1 }, 'unsupported'],
    ['limit', { unsupported: ['limit'] }, 'unsupported'],
    ['IPv6', { family: 10 }, 'unsupported'],
  ];
  for (const [name, fields, expected] of cases) {
    const got = r(fields);
    assert.equal(expected === 'unsupported' ? got.split(':')[0] : got, expected, name);
  }
  const x = new XfrmDatabase(clock).addState(
    stateRequest('192.0.2.1', '192.0.2.2', 1, { cbc: true, enc: { name: 'aes', key: '00'.repeat(16) }, auth: { name: 'sha256', key: '01', truncBits: 0, trunc: false } }),
  );
  assert.deepEqual([x.info().enc?.name, x.info().auth?.name, x.info().auth?.truncBits], ['cbc(aes)', 'hmac(sha256)', 96], 'canonical names, the default truncation');
});

test('the ESP MTU of a state (xfrm_state_mtu), as the kernel reports it in frag-needed', () => {
  const db = new XfrmDatabase(clock);
  const cases: Array<[string, Parameters<typeof stateRequest>[3], number, number]> = [
    ['gcm 128', {}, 1500, 1446],
    ['gcm 64', { aead: { name: 'rfc4106(gcm(aes))', key: '00'.repeat(20), icvBits: 64 } }, 1500, 1454],
    ['cbc + hmac 128', { cbc: true }, 1500, 1438],
    ['cbc + hmac 96', { cbc: true, auth: { name: 'hmac(sha256)', key: '01', truncBits: 96, trunc: true } }, 1500, 1438],
    ['gcm 128 over 1400', {}, 1400, 1346],
  ];
  let spi = 1;
  for (const [name, fields, outer, inner] of cases) {
    assert.equal(db.addState(stateRequest('192.0.2.1', '192.0.2.2', spi++, fields)).innerMtu(outer), inner, name);
  }
});

test('policy identity, index generation, get/delete by selector or index with the mark as given', () => {
  const db = new XfrmDatabase(clock);
  const add = (fields: Parameters<typeof policyRequest>[1], dir: 'in' | 'out' | 'fwd' = 'out') => refusal(() => db.addPolicy(policyRequest(dir, fields)));
  assert.equal(add({ mark: mark(42) }), 'ok');
  assert.equal(add({ mark: mark(42) }), 'EEXIST');
  assert.equal(add({ mark: mark(42, 0xff) }), 'ok', 'another mask is another policy');
  assert.equal(add({ mark: mark(0x12a, 0xff) }), 'EEXIST', 'the value is kept ANDed with the mask');
  assert.equal(add({ mark: mark(0x12a, 0xfff) }), 'ok');
  assert.equal(add({ mark: mark(42) }, 'in'), 'ok', 'another direction');
  assert.equal(add({ sel: selector('10.0.0.0/8') }), 'ok');
  assert.equal(add({ index: 5 }, 'in'), "extack: Policy index doesn't match direction");
  assert.equal(add({ index: 0x101, sel: selector('1.1.1.1/32') }), 'ok');
  assert.equal(add({ index: 0x101, sel: selector('1.1.1.2/32') }), 'ok');
  assert.equal(add({ ptype: 1 }).split(':')[0], 'unsupported');
  assert.equal(add({ tmpls: [template('1.1.1.1', '2.2.2.2'), template('1.1.1.1', '3.3.3.3')] }).split(':')[0], 'unsupported');
  // Indexes: generator | dir, stepping by 8; an index asked for when free; the generator on a clash.
  assert.deepEqual(
    db.policyList().map((p) => [p.dir, p.index]).reverse(),
    [
      [1, 1],
      [1, 9],
      [1, 17],
      [0, 24],
      [1, 33],
      [1, 0x101],
      [1, 41],
    ],
  );
  const q = { dir: 1, ptype: 0 };
  const get = (query: Parameters<typeof db.getPolicy>[0]) => refusal(() => db.getPolicy(query));
  assert.equal(get({ ...q, mark: mark(42), sel: selector() }), 'ok');
  assert.equal(get({ ...q, mark: mark(0x12a, 0xff), sel: selector() }), 'ENOENT', 'get compares the mark as given');
  assert.equal(get({ ...q, mark: mark(0x2a, 0xff), sel: selector() }), 'ok');
  assert.equal(get({ ...q, mark: mark(0, 0), sel: selector() }), 'ENOENT');
  assert.equal(get({ ...q, mark: mark(42), index: 1 }), 'ok');
  assert.equal(get({ ...q, mark: mark(0, 0), index: 1 }), 'ENOENT', 'by index too the mark must be the policy\'s');
  assert.equal(get({ dir: 0, ptype: 0, mark: mark(42), index: 1 }), 'ENOENT');
  db.deletePolicy({ ...q, mark: mark(0, 0), index: 0x101 });
  assert.equal(get({ ...q, mark: mark(0, 0), index: 0x101 }), 'ENOENT');
  assert.deepEqual(db.policyCount(), { in: 1, out: 5, fwd: 0, buckets: 7, max: 1048576 });
  assert.equal(db.flushPolicies(0), 6);
});

test('output: policy by priority then age, template to the newest valid state, marks, reqids, selectors', () => {
  const A = '192.0.2.1';
  const B = '192.0.2.2';
  const out = (fields: Parameters<typeof policyRequest>[1] = {}) => policyRequest('out', { mark: mark(42), tmpls: [template(A, B)], ...fields });
  const f = flow('10.0.0.1', '10.0.0.2');
  const cases: Array<{ name: string; states: Array<Parameters<typeof stateRequest>>; policies: Array<ReturnType<typeof policyRequest>>; okey: number; spi: number | null }> = [
    { name: 'state and policy with mark 42', states: [[A, B, 0x100, { mark: mark(42) }]], policies: [out()], okey: 42, spi: 0x100 },
    { name: 'okey 43: no policy', states: [[A, B, 0x100, { mark: mark(42) }]], policies: [out()], okey: 43, spi: null },
    { name: 'a markless state serves mark 42', states: [[A, B, 0x100]], policies: [out()], okey: 42, spi: 0x100 },
    { name: 'state mark 43 does not', states: [[A, B, 0x100, { mark: mark(43) }]], policies: [out()], okey: 42, spi: null },
    { name: 'reqid must be equal on output', states: [[A, B, 0x100, { mark: mark(42) }]], policies: [out({ tmpls: [template(A, B, { reqid: 5 })] })], okey: 42, spi: null },
    { name: 'template spi', states: [[A, B, 0x100], [A, B, 0x101]], policies: [out({ tmpls: [template(A, B, { spi: 0x100 })] })], okey: 42, spi: 0x100 },
    { name: 'the newest state', states: [[A, B, 0x100], [A, B, 0x101]], policies: [out()], okey: 42, spi: 0x101 },
    { name: 'template source any: the vti local', states: [[A, B, 0x100]], policies: [out({ tmpls: [template('0.0.0.0', B)] })], okey: 42, spi: 0x100 },
    { name: 'state source any', states: [['0.0.0.0', B, 0x100]], policies: [out()], okey: 42, spi: 0x100 },
    { name: 'another source', states: [['192.0.2.7', B, 0x100]], policies: [out()], okey: 42, spi: null },
    { name: 'state selector excludes the flow', states: [[A, B, 0x100, { sel: selector('10.9.0.0/16') }]], policies: [out()], okey: 42, spi: null },
    { name: 'state selector includes it', states: [[A, B, 0x100, { sel: selector('10.0.0.0/8', '10.0.0.2/32') }]], policies: [out()], okey: 42, spi: 0x100 },
    {
      name: 'lower priority value wins',
      states: [[A, B, 0x100], [A, '192.0.2.3', 0x200]],
      policies: [out({ priority: 10 }), out({ priority: 5, sel: selector('10.0.0.0/24'), tmpls: [template(A, '192.0.2.3')] })],
      okey: 42,
      spi: 0x200,
    },
    {
      name: 'equal priorities: the older',
      states: [[A, B, 0x100], [A, '192.0.2.3', 0x200]],
      policies: [out(), out({ sel: selector('10.0.0.0/24'), tmpls: [template(A, '192.0.2.3')] })],
      okey: 42,
      spi: 0x100,
    },
    { name: 'a policy without templates', states: [[A, B, 0x100]], policies: [out({ tmpls: [] })], okey: 42, spi: null },
  ];
  for (const c of cases) {
    const db = new XfrmDatabase(clock);
    for (const s of c.states) db.addState(stateRequest(...s));
    for (const p of c.policies) db.addPolicy(p);
    const policy = db.lookupPolicy(1, f, c.okey);
    const tmpl = policy?.tmpls[0];
    const x = policy && tmpl ? db.outboundState(policy, tmpl, f, addr(A)) : null;
    assert.equal(x?.spi ?? null, c.spi, c.name);
  }
});

test('selectors: prefixes, protocol, ports, ICMP type and code', () => {
  const cases: Array<[string, ReturnType<typeof selector>, Flow, boolean]> = [
    ['0/0 matches all', selector(), flow('1.2.3.4', '5.6.7.8'), true],
    ['src prefix', selector('10.0.0.0/8'), flow('10.1.2.3', '5.6.7.8'), true],
    ['src prefix, outside', selector('10.0.0.0/8'), flow('11.1.2.3', '5.6.7.8'), false],
    ['host bits in the selector are ignored', selector('10.0.0.5/24'), flow('10.0.0.77', '5.6.7.8'), true],
    ['proto icmp', selector(undefined, undefined, { proto: 1 }), flow('1.1.1.1', '2.2.2.2', 1), true],
    ['proto tcp vs icmp', selector(undefined, undefined, { proto: 6 }), flow('1.1.1.1', '2.2.2.2', 1), false],
    ['dport 22', selector(undefined, undefined, { proto: 6, dport: 22, dportMask: 0xffff }), flow('1.1.1.1', '2.2.2.2', 6, 40000, 22), true],
    ['dport 22 vs 80', selector(undefined, undefined, { proto: 6, dport: 22, dportMask: 0xffff }), flow('1.1.1.1', '2.2.2.2', 6, 40000, 80), false],
    ['icmp type 8 (echo)', selector(undefined, undefined, { proto: 1, sport: 8, sportMask: 0xffff }), flow('1.1.1.1', '2.2.2.2', 1, 8, 0), true],
    ['icmp type 0 (reply)', selector(undefined, undefined, { proto: 1, sport: 8, sportMask: 0xffff }), flow('1.1.1.1', '2.2.2.2', 1, 0, 0), false],
  ];
  const db = new XfrmDatabase(clock);
  for (const [name, sel, f, expected] of cases) {
    db.flushPolicies(0);
    db.addPolicy(policyRequest('out', { sel }));
    assert.equal(db.lookupPolicy(1, f, 0) !== null, expected, name);
  }
});

test('inbound check (__xfrm_policy_check): templates against the state that decrypted the packet', () => {
  const A = '192.0.2.1';
  const B = '192.0.2.2';
  const f = flow('10.0.0.2', '10.0.0.1');
  const inbound = (fields: Parameters<typeof policyRequest>[1] = {}) => policyRequest('in', { mark: mark(42), tmpls: [template(B, A)], ...fields });
  const cases: Array<{ name: string; policies: Array<ReturnType<typeof policyRequest>>; state?: Parameters<typeof stateRequest>[3]; through: boolean; ikey: number; ok: boolean }> = [
    { name: 'matching in policy', policies: [inbound()], through: true, ikey: 42, ok: true },
    { name: 'no policy: a tunnel-mode packet is refused', policies: [], through: true, ikey: 42, ok: false },
    { name: 'no policy, not through IPsec: allowed', policies: [], through: false, ikey: 0, ok: true },
    { name: 'policy for mark 42, ikey 0', policies: [inbound()], through: true, ikey: 0, ok: false },
    { name: 'block', policies: [inbound({ action: 1 })], through: true, ikey: 42, ok: false },
    { name: 'template source differs', policies: [inbound({ tmpls: [template('192.0.2.9', A)] })], through: true, ikey: 42, ok: false },
    { name: 'template destination is not compared', policies: [inbound({ tmpls: [template(B, '192.0.2.9')] })], through: true, ikey: 42, ok: true },
    { name: 'template reqid 0 takes any', policies: [inbound()], state: { reqid: 7 }, through: true, ikey: 42, ok: true },
    { name: 'template reqid 5 vs state 7', policies: [inbound({ tmpls: [template(B, A, { reqid: 5 })] })], state: { reqid: 7 }, through: true, ikey: 42, ok: false },
    { name: 'template spi', policies: [inbound({ tmpls: [template(B, A, { spi: 0x200 })] })], through: true, ikey: 42, ok: true },
    { name: 'template spi differs', policies: [inbound({ tmpls: [template(B, A, { spi: 0x201 })] })], through: true, ikey: 42, ok: false },
    { name: 'optional template that does not match: the tunnel SA is unaccounted for', policies: [inbound({ tmpls: [template('192.0.2.9', A, { optional: true })] })], through: true, ikey: 42, ok: false },
    { name: 'allow without templates', policies: [inbound({ tmpls: [] })], through: true, ikey: 42, ok: false },
    { name: 'required template, not through IPsec', policies: [inbound()], through: false, ikey: 42, ok: false },
    { name: 'optional template, not through IPsec', policies: [inbound({ tmpls: [template(B, A, { optional: true })] })], through: false, ikey: 42, ok: true },
    { name: 'the state selector must match the flow', policies: [inbound()], state: { sel: selector('10.9.0.0/16') }, through: true, ikey: 42, ok: false },
  ];
  for (const c of cases) {
    const db = new XfrmDatabase(clock);
    const x = db.addState(stateRequest(B, A, 0x200, { mark: mark(42), ...c.state }));
    for (const p of c.policies) db.addPolicy(p);
    assert.equal(db.checkInbound(f, c.ikey, c.through ? x : null), c.ok, c.name);
  }
});

test('flush by protocol; counts and hash sizes', () => {
  const db = new XfrmDatabase(clock);
  for (let i = 1; i <= 9; i++) db.addState(stateRequest('192.0.2.1', '192.0.2.2', i));
  assert.deepEqual(db.stateCount(), { count: 9, buckets: 16, max: 1048576 });
  assert.equal(db.flushStates(51), 0, 'ah');
  assert.equal(db.flushStates(255), 9, 'ipsec-any');
  assert.deepEqual(db.stateCount(), { count: 0, buckets: 16, max: 1048576 }, 'the hash does not shrink');
});

test('saved and restored: sequence numbers never go back, even after a kill', () => {
  const db = new XfrmDatabase(clock);
  let saves = 0;
  db.onReserve = () => saves++;
  const x = db.addState(stateRequest('192.0.2.1', '192.0.2.2', 1, { replayWindow: 32 }));
  db.addPolicy(policyRequest('out', { tmpls: [template('192.0.2.1', '192.0.2.2')] }));
  const bytes = Buffer.alloc(256);
  bytes[64] = 0x45;
  for (let i = 0; i < 3; i++) {
    x.sa.seal(bytes, 64, 40, 4);
    db.sealed(x);
  }
  assert.equal(saves, 0);
  const killed = db.saved(false);
  assert.equal(killed.states[0]!.replay.oseq, OSEQ_RESERVATION, 'a killed daemon resumes past the reservation');
  assert.equal(db.saved(true).states[0]!.replay.oseq, 3, 'a stopped one where it was');
  x.sa.outboundSequence = OSEQ_RESERVATION;
  db.sealed(x);
  assert.equal(saves, 1, 'passing the reservation saves');
  const next = new XfrmDatabase(clock);
  next.restore(killed, (what, error) => assert.fail(`${what}: ${error.message}`));
  const y = next.stateList()[0]!;
  assert.equal(y.sa.outboundSequence, OSEQ_RESERVATION);
  assert.equal(y.addTime, x.addTime);
  assert.deepEqual(next.policyList()[0]!.info(), db.policyList()[0]!.info());
  assert.equal(refusal(() => next.addPolicy(policyRequest('out', { tmpls: [template('192.0.2.1', '192.0.2.2')] }))), 'EEXIST');
  assert.equal(next.addPolicy(policyRequest('in')).index, 8, 'the index generator continues');
});

test('near 2^32 the reservation stops at 0xffffffff: a killed daemon resumes used up, never wrapped to a small number', () => {
  // Found by the fault suite (test/faults/vti.test.ts): a state added with replay-oseq 0xfffffffd was
  // saved with oseq 0xfffffffd + 65536, which the next daemon read back as 0xfffd and sent again.
  const db = new XfrmDatabase(clock);
  const x = db.addState(stateRequest('192.0.2.1', '192.0.2.2', 1, { replayOseq: 0xfffffffd }));
  const bytes = Buffer.alloc(256);
  bytes[64] = 0x45;
  assert.ok(x.sa.seal(bytes, 64, 40, 4) > 0);
  db.sealed(x);
  const killed = db.saved(false);
  assert.equal(killed.states[0]!.replay.oseq, 0xffffffff);
  const next = new XfrmDatabase(clock);
  next.restore(killed, (what, error) => assert.fail(`${what}: ${error.message}`));
  const y = next.stateList()[0]!;
  assert.equal(y.sa.outboundSequence, 0xffffffff);
  assert.equal(y.sa.seal(bytes, 64, 40, 4), 0, 'used up: xfrm-out-seq-overflow');
  // A state file an older daemon wrote past 2^32 counts as used up too.
  const old = { ...killed, states: [{ ...killed.states[0]!, replay: { ...killed.states[0]!.replay, oseq: 0xfffffffd + OSEQ_RESERVATION } }] };
  const again = new XfrmDatabase(clock);
  again.restore(old, (what, error) => assert.fail(`${what}: ${error.message}`));
  assert.equal(again.stateList()[0]!.sa.outboundSequence, 0xffffffff);
});
