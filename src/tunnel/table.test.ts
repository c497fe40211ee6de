import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GRE_KEY } from './params.js';
import { TunnelTable } from './table.js';
import { ip, params, upTunnel } from './test-helpers.js';

const A = ip('192.168.1.10');
const B = ip('192.168.2.20');
const C = ip('192.168.3.30');
const NO_KEY = { present: false, value: 0 };

function tableOf(...tunnels: ReturnType<typeof upTunnel>[]): TunnelTable {
  const table = new TunnelTable();
  for (const t of tunnels) table.add(t);
  return table;
}

test('lookup prefers remote+local, then remote, then local, then any/any (ip_tunnel_lookup order)', () => {
  const exact = upTunnel({ name: 'exact', mode: 'gre', remote: B, local: A });
  const remoteOnly = upTunnel({ name: 'remote', mode: 'gre', remote: B });
  const localOnly = upTunnel({ name: 'local', mode: 'gre', local: A });
  const wildcard = upTunnel({ name: 'wild', mode: 'gre' });
  const table = tableOf(wildcard, localOnly, remoteOnly, exact);
  assert.equal(table.lookupIp(47, 0, NO_KEY, B, A)?.name, 'exact');
  assert.equal(table.lookupIp(47, 0, NO_KEY, B, C)?.name, 'remote');
  assert.equal(table.lookupIp(47, 0, NO_KEY, C, A)?.name, 'local');
  assert.equal(table.lookupIp(47, 0, NO_KEY, C, C)?.name, 'wild');
  exact.up = false;
  assert.equal(table.lookupIp(47, 0, NO_KEY, B, A)?.name, 'remote', 'a tunnel that is down is passed over');
});

test('key match: a keyed tunnel takes only its key, a keyless one only keyless packets', () => {
  const keyed = upTunnel({ name: 'k42', mode: 'gre', remote: B, local: A, iflags: GRE_KEY, ikey: 42 });
  const table = tableOf(keyed);
  assert.equal(table.lookupIp(47, 0, { present: true, value: 42 }, B, A)?.name, 'k42');
  assert.equal(table.lookupIp(47, 0, { present: true, value: 43 }, B, A), null);
  assert.equal(table.lookupIp(47, 0, NO_KEY, B, A), null);
  const keyless = upTunnel({ name: 'plain', mode: 'gre', remote: B, local: A });
  table.add(keyless);
  assert.equal(table.lookupIp(47, 0, NO_KEY, B, A)?.name, 'plain');
  assert.equal(table.lookupIp(47, 0, { present: true, value: 7 }, B, A), null);
});

test('pass 4 matches any/any tunnels on the input key alone', () => {
  const anyKeyed = upTunnel({ name: 'any5', mode: 'gre', iflags: GRE_KEY, ikey: 5 });
  const table = tableOf(anyKeyed);
  assert.equal(table.lookupIp(47, 0, { present: true, value: 5 }, B, A)?.name, 'any5');
  assert.equal(table.lookupIp(47, 0, { present: true, value: 6 }, B, A), null);
});

test('a tunnel bound to the ingress link wins at once; one bound elsewhere stays a candidate', () => {
  const other = upTunnel({ name: 'other', mode: 'ipip', remote: B, local: A, link: 7 });
  const table = tableOf(other);
  assert.equal(table.lookupIp(4, 3, NO_KEY, B, A)?.name, 'other', 'kept as candidate');
  const bound = upTunnel({ name: 'bound', mode: 'ipip', remote: B, local: A, link: 3 });
  table.add(bound);
  assert.equal(table.lookupIp(4, 3, NO_KEY, B, A)?.name, 'bound');
});

test('protocols have separate tables', () => {
  const table = tableOf(upTunnel({ name: 'g', mode: 'gre', remote: B, local: A }));
  assert.equal(table.lookupIp(4, 0, NO_KEY, B, A), null);
  assert.equal(table.lookupSit(0, B, A), null);
});

test('sit lookup: exact, remote, local, then the any/any tunnel; a tunnel bound elsewhere is rejected', () => {
  const table = tableOf(
    upTunnel({ name: 'wc', mode: 'sit' }),
    upTunnel({ name: 'l', mode: 'sit', local: A }),
    upTunnel({ name: 'r', mode: 'sit', remote: B }),
    upTunnel({ name: 'rl', mode: 'sit', remote: B, local: A, link: 9 }),
  );
  assert.equal(table.lookupSit(9, B, A)?.name, 'rl');
  assert.equal(table.lookupSit(3, B, A)?.name, 'r');
  assert.equal(table.lookupSit(3, C, A)?.name, 'l');
  assert.equal(table.lookupSit(3, C, C)?.name, 'wc');
});

test('findIdentical: same endpoints, link and key match', () => {
  const table = tableOf(upTunnel({ name: 'g1', mode: 'gre', remote: B, local: A, iflags: GRE_KEY, ikey: 1 }));
  assert.ok(table.findIdentical(params({ name: 'x', mode: 'gre', remote: B, local: A, iflags: GRE_KEY, ikey: 1 })));
  assert.equal(table.findIdentical(params({ name: 'x', mode: 'gre', remote: B, local: A, iflags: GRE_KEY, ikey: 2 })), null);
  assert.equal(table.findIdentical(params({ name: 'x', mode: 'gre', remote: B, local: A })), null);
  assert.equal(table.findIdentical(params({ name: 'x', mode: 'gre', remote: B, local: A, iflags: GRE_KEY, ikey: 1, link: 2 })), null);
});

test('update re-indexes a tunnel under its new remote', () => {
  const t = upTunnel({ name: 't', mode: 'ipip', remote: B, local: A });
  const table = tableOf(t);
  table.update(t, { ...t.params, remote: C });
  assert.equal(table.lookupIp(4, 0, NO_KEY, B, A), null);
  assert.equal(table.lookupIp(4, 0, NO_KEY, C, A)?.name, 't');
  table.remove(t);
  assert.equal(table.size, 0);
  assert.equal(table.lookupIp(4, 0, NO_KEY, C, A), null);
});
