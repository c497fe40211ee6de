import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BurrowError } from '../errors.js';
import { automaticName, findForDelete, planAdd, planChange } from './admin.js';
import { GRE_CSUM, GRE_KEY, GRE_SEQ } from './params.js';
import { TunnelTable } from './table.js';
import { ip, params, upTunnel } from './test-helpers.js';

const A = ip('192.168.1.10');
const B = ip('192.168.2.20');
const none = (): boolean => false;

function refusedWith(code: string): (error: unknown) => boolean {
  return (error) => error instanceof BurrowError && error.code === code;
}

test('add: a fixed TTL forces DF, ipip drops keys, missing keys are zeroed', () => {
  const table = new TunnelTable();
  const p = planAdd(table, params({ name: 't', mode: 'ipip', remote: B, ttl: 64, pmtudisc: false, iflags: GRE_KEY, ikey: 3 }), none);
  assert.equal(p.pmtudisc, true);
  assert.equal(p.iflags, 0);
  assert.equal(p.ikey, 0);
  const g = planAdd(table, params({ name: 'g', mode: 'gre', remote: B, ikey: 9, oflags: GRE_KEY, okey: 4 }), none);
  assert.equal(g.ikey, 0, 'ikey without the KEY flag is zeroed');
  assert.equal(g.okey, 4);
});

test('add: duplicates are EEXIST for ipip/gre and ENOBUFS for sit', () => {
  const table = new TunnelTable();
  table.add(upTunnel({ name: 'a', mode: 'ipip', remote: B, local: A }));
  table.add(upTunnel({ name: 's', mode: 'sit', remote: B, local: A }));
  assert.throws(() => planAdd(table, params({ name: 'b', mode: 'ipip', remote: B, local: A }), none), refusedWith('EEXIST'));
  assert.throws(() => planAdd(table, params({ name: 's2', mode: 'sit', remote: B, local: A }), none), refusedWith('ENOBUFS'));
  assert.throws(() => planAdd(table, params({ name: 'eth0', mode: 'gre', remote: B }), (n) => n === 'eth0'), refusedWith('EEXIST'));
  // A keyed GRE tunnel with the same endpoints is a different identity.
  assert.doesNotThrow(() => planAdd(table, params({ name: 'g', mode: 'gre', remote: B, local: A, iflags: GRE_KEY, ikey: 1 }), none));
});

test('add: a multicast GRE remote needs a local address; routing/version flags are refused', () => {
  const table = new TunnelTable();
  assert.throws(() => planAdd(table, params({ name: 'm', mode: 'gre', remote: ip('239.1.1.1') }), none), refusedWith('EINVAL'));
  assert.throws(() => planAdd(table, params({ name: 'r', mode: 'gre', remote: B, iflags: 0x4000 }), none), refusedWith('EINVAL'));
});

test('add without a name takes the kernel template, skipping the fallback names', () => {
  assert.equal(automaticName(params({ name: '', mode: 'gre' }), none), 'gre1');
  assert.equal(automaticName(params({ name: '', mode: 'ipip' }), (n) => n === 'ipip0'), 'ipip1');
  assert.equal(automaticName(params({ name: '', mode: 'sit' }), none), 'sit1');
});

test('change: GRE header growth shrinks the MTU by the same amount, never below 68', () => {
  const table = new TunnelTable();
  const t = upTunnel({ name: 'g', mode: 'gre', remote: B, local: A });
  table.add(t);
  const plan = planChange(table, t, params({ name: 'g', mode: 'gre', remote: B, local: A, oflags: GRE_KEY | GRE_SEQ | GRE_CSUM, iflags: GRE_KEY, ikey: 1, okey: 1 }), 1476);
  assert.equal(plan.mtu, 1464);
  assert.equal(plan.rebind, false);
  assert.equal(planChange(table, t, params({ name: 'g', mode: 'gre', remote: B, local: A, oflags: GRE_CSUM }), 70).mtu, 68);
  assert.equal(planChange(table, t, params({ name: 'g', mode: 'gre', remote: B, local: A, link: 2 }), 1476).rebind, true);
});

test('change: switching between point-to-point and NBMA is EINVAL; taking another identity is EEXIST', () => {
  const table = new TunnelTable();
  const t = upTunnel({ name: 'g', mode: 'gre', remote: B, local: A });
  const u = upTunnel({ name: 'h', mode: 'gre', remote: ip('10.9.9.9'), local: A });
  table.add(t);
  table.add(u);
  assert.throws(() => planChange(table, t, params({ name: 'g', mode: 'gre', remote: 0, local: A }), 1476), refusedWith('EINVAL'));
  assert.throws(() => planChange(table, t, params({ name: 'g', mode: 'gre', remote: ip('10.9.9.9'), local: A }), 1476), refusedWith('EEXIST'));
  assert.throws(() => planChange(table, t, params({ name: 'g', mode: 'ipip', remote: B, local: A }), 1476), refusedWith('EINVAL'));
});

test('delete by parameters finds the identical tunnel or says ENOENT', () => {
  const table = new TunnelTable();
  table.add(upTunnel({ name: 'g', mode: 'gre', remote: B, local: A }));
  assert.equal(findForDelete(table, params({ name: '', mode: 'gre', remote: B, local: A })).name, 'g');
  assert.throws(() => findForDelete(table, params({ name: '', mode: 'gre', remote: A, local: B })), refusedWith('ENOENT'));
});
