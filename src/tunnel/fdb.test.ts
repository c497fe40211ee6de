import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Fdb,
  FDB_AGE_INTERVAL_MS,
  macBytes,
  macKey,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NTF_EXT_LEARNED,
  NTF_SELF,
  NTF_USE,
  NTF_VXLAN_ADDED_BY_USER,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_REACHABLE,
  ZERO_MAC,
  type FdbConfig,
  type FdbRequest,
} from './fdb.js';
import { ip } from './test-helpers.js';

const ADD = NLM_F_CREATE | NLM_F_EXCL;
const APPEND = NLM_F_CREATE | NLM_F_APPEND;
const REPLACE = NLM_F_CREATE | NLM_F_REPLACE;
const PERMANENT = NUD_NOARP | NUD_PERMANENT;
const STATIC = NUD_NOARP | NUD_REACHABLE;

function mac(text: string): number {
  return macKey(Uint8Array.from(text.split(':').map((h) => parseInt(h, 16))));
}

function table(config: Partial<FdbConfig> = {}): Fdb {
  return new Fdb({ vni: 100, port: 4789, learning: true, ageing: 300, maxAddresses: 0, ...config });
}

function request(fields: Partial<FdbRequest> & { mac: number }): FdbRequest {
  return { ip: 0, hasIp: true, port: null, vni: null, ifindex: 0, state: PERMANENT, flags: NTF_SELF, nlFlags: ADD, ...fields };
}

/** A frame source MAC in a buffer, for learn(). */
function source(text: string): Uint8Array {
  return macBytes(mac(text));
}

/** The table as `bridge fdb show` lines would list it: mac, remotes (ip/port/vni), state. */
function shown(fdb: Fdb): string[] {
  return fdb.list().flatMap((e) =>
    e.remotes.map((r) => `${[...macBytes(e.mac)].map((b) => b.toString(16).padStart(2, '0')).join(':')} ${r.ip >>> 24}.${(r.ip >>> 16) & 255}.${(r.ip >>> 8) & 255}.${r.ip & 255}:${r.port}/${r.vni} ${e.state}`),
  );
}

test('mac keys are exact 48-bit numbers and round-trip', () => {
  for (const text of ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '02:00:00:00:0a:01', '01:00:5e:7f:ff:fa']) {
    assert.deepEqual([...macBytes(mac(text))].map((b) => b.toString(16).padStart(2, '0')).join(':'), text);
  }
  assert.equal(mac('ff:ff:ff:ff:ff:ff'), 2 ** 48 - 1);
  assert.equal(ZERO_MAC, mac('00:00:00:00:00:00'));
});

interface UpdateCase {
  name: string;
  before: FdbRequest[];
  request: FdbRequest;
  errno: string | null;
  after: string[];
}

const A = mac('02:00:00:00:00:0a');
const M = mac('01:00:5e:00:00:01');
const cases: UpdateCase[] = [
  { name: 'add creates a permanent entry', before: [], request: request({ mac: A, ip: ip('10.0.0.1') }), errno: null, after: ['02:00:00:00:00:0a 10.0.0.1:4789/100 192'] },
  { name: 'add without dst is EINVAL', before: [], request: request({ mac: A, hasIp: false }), errno: 'EINVAL', after: [] },
  { name: 'add with neither permanent nor reachable is EINVAL', before: [], request: request({ mac: A, ip: ip('10.0.0.1'), state: NUD_NOARP }), errno: 'EINVAL', after: [] },
  { name: 'add of an existing MAC is EEXIST', before: [request({ mac: A, ip: ip('10.0.0.1') })], request: request({ mac: A, ip: ip('10.0.0.2') }), errno: 'EEXIST', after: ['02:00:00:00:00:0a 10.0.0.1:4789/100 192'] },
  { name: 'replace moves a unicast entry', before: [request({ mac: A, ip: ip('10.0.0.1') })], request: request({ mac: A, ip: ip('10.0.0.2'), nlFlags: REPLACE }), errno: null, after: ['02:00:00:00:00:0a 10.0.0.2:4789/100 192'] },
  { name: 'replace creates a missing unicast entry', before: [], request: request({ mac: A, ip: ip('10.0.0.2'), nlFlags: REPLACE, state: STATIC }), errno: null, after: ['02:00:00:00:00:0a 10.0.0.2:4789/100 66'] },
  { name: 'replace of the default entry is EOPNOTSUPP', before: [request({ mac: ZERO_MAC, ip: ip('10.0.0.1'), nlFlags: APPEND })], request: request({ mac: ZERO_MAC, ip: ip('10.0.0.2'), nlFlags: REPLACE }), errno: 'EOPNOTSUPP', after: ['00:00:00:00:00:00 10.0.0.1:4789/100 192'] },
  { name: 'replace cannot create a multicast entry', before: [], request: request({ mac: M, ip: ip('10.0.0.2'), nlFlags: REPLACE }), errno: 'EOPNOTSUPP', after: [] },
  {
    name: 'append adds remotes to the default entry, once each, in order',
    before: [request({ mac: ZERO_MAC, ip: ip('10.0.0.1'), nlFlags: APPEND }), request({ mac: ZERO_MAC, ip: ip('10.0.0.2'), nlFlags: APPEND })],
    request: request({ mac: ZERO_MAC, ip: ip('10.0.0.2'), nlFlags: APPEND }),
    errno: null,
    after: ['00:00:00:00:00:00 10.0.0.1:4789/100 192', '00:00:00:00:00:00 10.0.0.2:4789/100 192'],
  },
  {
    name: 'append with another port and VNI is another remote',
    before: [request({ mac: ZERO_MAC, ip: ip('10.0.0.1'), nlFlags: APPEND })],
    request: request({ mac: ZERO_MAC, ip: ip('10.0.0.1'), port: 5000, vni: 7, nlFlags: APPEND }),
    errno: null,
    after: ['00:00:00:00:00:00 10.0.0.1:4789/100 192', '00:00:00:00:00:00 10.0.0.1:5000/7 192'],
  },
  {
    name: 'append on a unicast entry changes only its state',
    before: [request({ mac: A, ip: ip('10.0.0.1'), state: NUD_REACHABLE })],
    request: request({ mac: A, ip: ip('10.0.0.9'), nlFlags: APPEND }),
    errno: null,
    after: ['02:00:00:00:00:0a 10.0.0.1:4789/100 192'],
  },
];

for (const c of cases) {
  test(`fdb update: ${c.name}`, () => {
    const fdb = table();
    for (const r of c.before) assert.equal(fdb.update(r, 0), null);
    assert.equal(fdb.update(c.request, 1), c.errno);
    assert.deepEqual(shown(fdb), c.after);
  });
}

test('fdb entries list newest first; user entries are marked, learned ones are not', () => {
  const fdb = table();
  fdb.addDefault({ ip: ip('192.168.1.2'), port: 4789, vni: 100, ifindex: 3 }, 0);
  fdb.learn(source('02:00:00:00:00:01'), 0, ip('192.168.1.2'), 1);
  fdb.update(request({ mac: A, ip: ip('10.0.0.1') }), 2);
  assert.deepEqual(
    fdb.list().map((e) => e.mac),
    [A, mac('02:00:00:00:00:01'), ZERO_MAC],
  );
  assert.equal(fdb.get(A)!.flags, NTF_SELF | NTF_VXLAN_ADDED_BY_USER);
  assert.equal(fdb.get(mac('02:00:00:00:00:01'))!.flags, NTF_SELF);
  assert.equal(fdb.get(mac('02:00:00:00:00:01'))!.state, NUD_REACHABLE);
  assert.deepEqual(fdb.persistent().map((e) => e.mac), [ZERO_MAC, A], 'learned entries are not kept across restarts');
});

test('fdb delete: a whole entry, one remote of several, a missing remote (no error), a missing MAC (ENOENT)', () => {
  const fdb = table();
  for (const address of ['10.0.0.1', '10.0.0.2']) fdb.update(request({ mac: ZERO_MAC, ip: ip(address), nlFlags: APPEND }), 0);
  fdb.update(request({ mac: A, ip: ip('10.0.0.3') }), 0);
  const del = (m: number, address = '0.0.0.0') => fdb.delete({ mac: m, ip: ip(address), port: null, vni: null, ifindex: 0 });
  assert.equal(del(ZERO_MAC, '10.0.0.9'), null);
  assert.equal(fdb.get(ZERO_MAC)!.remotes.length, 2);
  assert.equal(del(ZERO_MAC, '10.0.0.1'), null);
  assert.deepEqual(fdb.get(ZERO_MAC)!.remotes.map((r) => r.ip), [ip('10.0.0.2')]);
  assert.equal(del(ZERO_MAC, '10.0.0.2'), null, 'the last remote takes the entry with it');
  assert.equal(fdb.get(ZERO_MAC), undefined);
  assert.equal(del(A), null);
  assert.equal(del(A), 'ENOENT');
});

interface LearnCase {
  name: string;
  existing?: { state: number; at: string };
  from: string;
  result: string;
  remote: string;
}

const learnCases: LearnCase[] = [
  { name: 'a new source is learned', from: '10.0.0.1', result: 'ok', remote: '10.0.0.1' },
  { name: 'a known source stays', existing: { state: NUD_REACHABLE, at: '10.0.0.1' }, from: '10.0.0.1', result: 'ok', remote: '10.0.0.1' },
  { name: 'a dynamic entry migrates', existing: { state: NUD_REACHABLE, at: '10.0.0.1' }, from: '10.0.0.2', result: 'ok', remote: '10.0.0.2' },
  { name: 'a permanent entry never migrates', existing: { state: PERMANENT, at: '10.0.0.1' }, from: '10.0.0.2', result: 'static-conflict', remote: '10.0.0.1' },
  { name: 'a static entry never migrates', existing: { state: STATIC, at: '10.0.0.1' }, from: '10.0.0.2', result: 'static-conflict', remote: '10.0.0.1' },
];

for (const c of learnCases) {
  test(`fdb learn: ${c.name}`, () => {
    const fdb = table();
    if (c.existing) fdb.update(request({ mac: A, ip: ip(c.existing.at), state: c.existing.state }), 0);
    assert.equal(fdb.learn(macBytes(A), 0, ip(c.from), 5), c.result);
    assert.equal(fdb.get(A)!.remotes[0].ip, ip(c.remote));
    assert.equal(fdb.get(A)!.updated, 5, 'a frame from the MAC refreshes the entry even when it is dropped');
  });
}

test('fdb learn: multicast and zero sources are refused, and nothing is learned', () => {
  const fdb = table();
  assert.equal(fdb.learn(source('01:00:5e:00:00:01'), 0, ip('10.0.0.1'), 0), 'invalid-source');
  assert.equal(fdb.learn(source('00:00:00:00:00:00'), 0, ip('10.0.0.1'), 0), 'invalid-source');
  assert.equal(fdb.size, 0);
});

test('fdb maxaddress counts every entry, the default one too; learning beyond it is silent', () => {
  const fdb = table({ maxAddresses: 2 });
  fdb.addDefault({ ip: ip('10.0.0.1'), port: 4789, vni: 100, ifindex: 0 }, 0);
  assert.equal(fdb.learn(source('02:00:00:00:00:01'), 0, ip('10.0.0.1'), 0), 'ok');
  assert.equal(fdb.learn(source('02:00:00:00:00:02'), 0, ip('10.0.0.1'), 0), 'ok', 'delivered all the same');
  assert.equal(fdb.size, 2);
  assert.equal(fdb.update(request({ mac: A, ip: ip('10.0.0.3') }), 0), 'ENOSPC');
});

test('fdb destination: own entry, else the default entry, else none; both mark the entry used', () => {
  const fdb = table();
  assert.equal(fdb.destination(macBytes(A), 0, 0), null);
  fdb.addDefault({ ip: ip('10.0.0.1'), port: 4789, vni: 100, ifindex: 0 }, 0);
  assert.equal(fdb.destination(macBytes(A), 0, 7)!.mac, ZERO_MAC);
  assert.equal(fdb.get(ZERO_MAC)!.used, 7);
  fdb.update(request({ mac: A, ip: ip('10.0.0.2') }), 0);
  assert.equal(fdb.destination(macBytes(A), 0, 9)!.mac, A);
  assert.equal(fdb.get(A)!.used, 9);
  assert.equal(fdb.get(A)!.updated, 0, 'sending does not refresh an entry');
});

test('fdb ageing: dynamic entries go after `ageing` s without a refresh; static, permanent and extern_learn stay', () => {
  const fdb = table({ ageing: 5 });
  fdb.addDefault({ ip: ip('10.0.0.1'), port: 4789, vni: 100, ifindex: 0 }, 0);
  fdb.learn(source('02:00:00:00:00:01'), 0, ip('10.0.0.1'), 0);
  fdb.learn(source('02:00:00:00:00:02'), 0, ip('10.0.0.1'), 2000);
  fdb.update(request({ mac: A, ip: ip('10.0.0.3'), state: STATIC }), 0);
  fdb.update(request({ mac: mac('02:00:00:00:00:0b'), ip: ip('10.0.0.3'), state: NUD_REACHABLE }), 0);
  fdb.update(request({ mac: mac('02:00:00:00:00:0c'), ip: ip('10.0.0.3'), state: NUD_REACHABLE, flags: NTF_SELF | NTF_EXT_LEARNED }), 0);
  assert.equal(fdb.expire(1000), 5000, 'next look at the first expiry');
  assert.equal(fdb.size, 6);
  assert.equal(fdb.expire(5000), 7000);
  assert.equal(fdb.get(mac('02:00:00:00:00:01')), undefined, 'learned at 0, gone at 5 s');
  assert.equal(fdb.get(mac('02:00:00:00:00:0b')), undefined, 'a user-added dynamic entry ages too');
  fdb.learn(source('02:00:00:00:00:02'), 0, ip('10.0.0.1'), 6000);
  assert.equal(fdb.expire(7000), 11000, 'refreshed at 6 s');
  assert.equal(fdb.expire(11000), 11000 + FDB_AGE_INTERVAL_MS, 'with nothing dynamic left, every 10 s');
  assert.deepEqual(fdb.list().map((e) => e.mac).sort(), [ZERO_MAC, A, mac('02:00:00:00:00:0c')].sort());
});

test('fdb: going down flushes everything but permanent and static entries', () => {
  const fdb = table();
  fdb.addDefault({ ip: ip('10.0.0.1'), port: 4789, vni: 100, ifindex: 0 }, 0);
  fdb.learn(source('02:00:00:00:00:01'), 0, ip('10.0.0.1'), 0);
  fdb.update(request({ mac: A, ip: ip('10.0.0.3'), state: STATIC }), 0);
  fdb.flushDynamic();
  assert.deepEqual(fdb.list().map((e) => e.mac), [A, ZERO_MAC]);
});

test('fdb: NTF_USE refreshes an entry and is not kept; restore puts entries back as they were', () => {
  const fdb = table();
  fdb.update(request({ mac: A, ip: ip('10.0.0.3') }), 0);
  fdb.update(request({ mac: A, ip: ip('10.0.0.3'), nlFlags: APPEND, flags: NTF_SELF | NTF_USE }), 50);
  assert.equal(fdb.get(A)!.updated, 50);
  assert.equal(fdb.get(A)!.flags & NTF_USE, 0);
  const other = table();
  other.restore(JSON.parse(JSON.stringify(fdb.persistent())), 9);
  assert.deepEqual(shown(other), shown(fdb));
  assert.equal(other.get(A)!.used, 9);
});
