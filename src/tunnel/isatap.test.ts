import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BurrowError } from '../errors.js';
import { parseIpv6 } from '../wire/address.js';
import { decapsulate } from './ip-tunnel.js';
import { isatapNextHop, isatapSourceOk, isIsatapAddress, prlAdd, prlDelete, type PrlEntry } from './isatap.js';
import { newDecapResult, newEncapResult, type EncapResult } from './mode.js';
import type { NextHopRoute } from './nexthop.js';
import { encapsulateSit, receiveSit } from './sit.js';
import { TunnelTable } from './table.js';
import { ip, ipv6Packet, upTunnel } from './test-helpers.js';

const v6 = (text: string): Uint8Array => parseIpv6(text)!;
const errno = (code: string) => (e: unknown) => e instanceof BurrowError && e.code === code;

test('PRL: add puts the router first; 0.0.0.0 is EINVAL; a listed address is EEXIST; delete is ENXIO or flushes', () => {
  let list: PrlEntry[] = [];
  list = prlAdd(list, { address: ip('192.168.1.1'), isDefault: true });
  list = prlAdd(list, { address: ip('192.168.1.2'), isDefault: false });
  assert.deepEqual(list, [
    { address: ip('192.168.1.2'), isDefault: false },
    { address: ip('192.168.1.1'), isDefault: true },
  ]);
  assert.throws(() => prlAdd(list, { address: ip('192.168.1.1'), isDefault: false }), errno('EEXIST'), 'even with the other flag');
  assert.throws(() => prlAdd(list, { address: 0, isDefault: true }), errno('EINVAL'));
  assert.throws(() => prlDelete(list, ip('192.168.1.99')), errno('ENXIO'));
  assert.deepEqual(prlDelete(list, ip('192.168.1.2')), [{ address: ip('192.168.1.1'), isDefault: true }]);
  assert.deepEqual(prlDelete(list, 0), []);
});

test('ISATAP addresses and the next-hop rule', () => {
  const cases: Array<[string, boolean, string]> = [
    ['fe80::5efe:c0a8:10a', true, '192.168.1.10'],
    ['fe80::200:5efe:cb00:7105', true, '203.0.113.5'],
    ['2001:db8::5efe:a00:1', true, '10.0.0.1'],
    ['fe80::100:5efe:a00:1', false, '0.0.0.0'], // only bit 0x02 may differ in the first byte
    ['fe80::c0a8:10a', false, '0.0.0.0'],
    ['ff02::5efe:a00:1', true, '0.0.0.0'], // ISATAP-shaped but multicast: not a unicast neighbour
  ];
  for (const [text, isatap, v4] of cases) {
    assert.equal(isIsatapAddress(v6(text), 0), isatap, text);
    assert.equal(isatapNextHop(v6(text), 0), ip(v4), text);
  }
});

test('isatap_chksrc: PRL routers pass; others need an on-link ISATAP source embedding the outer source', () => {
  const prl = [{ address: ip('192.168.1.1'), isDefault: true }];
  const onDevice = [{ address: v6('fe80::5efe:c0a8:10a'), prefixLength: 64 }];
  const cases: Array<[string, string, boolean]> = [
    ['2001:db8::1', '192.168.1.1', true], // a router: any source
    ['fe80::5efe:c0a8:114', '192.168.1.20', true],
    ['fe80::5efe:c0a8:115', '192.168.1.20', false], // embeds another address
    ['2001:db8::5efe:c0a8:114', '192.168.1.20', false], // prefix not on the device
    ['fe80::c0a8:114', '192.168.1.20', false], // not ISATAP
  ];
  for (const [src, outer, ok] of cases) {
    const p = ipv6Packet(v6(src), v6('fe80::5efe:c0a8:10a'));
    assert.equal(isatapSourceOk(prl, ip(outer), p.bytes, p.start, onDevice), ok, `${src} from ${outer}`);
  }
});

test('isatap tunnel: transmit to the ISATAP neighbour of the route; receive checks the source', () => {
  const t = upTunnel({ name: 'is0', mode: 'isatap', local: ip('192.168.1.10'), remote: 0, iflags: 1 });
  const route = (prefix: string, prefixLength: number, gateway: string | null): NextHopRoute => ({
    prefix: v6(prefix),
    prefixLength,
    gateway: gateway === null ? null : v6(gateway),
    priority: 0,
    outer: 'ok',
    outerMtu: 1500,
  });
  t.nextHops.setRoutes([route('fe80::', 64, null), route('::', 0, 'fe80::5efe:c0a8:101'), route('2001:db8:9::', 48, 'fe80::1')]);
  const out: EncapResult = newEncapResult();
  const send = (dst: string) => {
    const p = ipv6Packet(v6('fe80::5efe:c0a8:10a'), v6(dst));
    return [encapsulateSit(t, p.bytes, p.start, p.length, out), out.destination] as const;
  };
  assert.deepEqual(send('fe80::5efe:c0a8:114'), [null, ip('192.168.1.20')], 'on-link ISATAP neighbour');
  assert.deepEqual(send('2001:db8:1::1'), [null, ip('192.168.1.1')], 'default route via the router');
  assert.equal(send('2001:db8:9::1')[0], 'nbma-no-ipv4-neighbour', 'a gateway that is not ISATAP');
  // 6to4 is not tried on an ISATAP device.
  assert.equal(send('2002:c633:6401::1')[0], null);
  assert.equal(out.destination, ip('192.168.1.1'));

  const table = new TunnelTable();
  table.add(t);
  t.deviceAddresses = [{ address: v6('fe80::5efe:c0a8:10a'), prefixLength: 64 }];
  const peer = upTunnel({ name: 'p', mode: 'isatap', local: ip('192.168.1.20'), remote: 0 });
  peer.nextHops.setRoutes([route('fe80::', 64, null)]);
  const deliver = (src: string) => {
    const p = ipv6Packet(v6(src), v6('fe80::5efe:c0a8:10a'));
    assert.equal(encapsulateSit(peer, p.bytes, p.start, p.length, out), null);
    const result = newDecapResult();
    return decapsulate(receiveSit, table, p.bytes, out.start, out.length, 0, result);
  };
  assert.equal(deliver('fe80::5efe:c0a8:114'), null);
  assert.equal(deliver('fe80::5efe:c0a8:199'), 'isatap-source-spoofed');
  t.prl = [{ address: ip('192.168.1.20'), isDefault: false }];
  assert.equal(deliver('fe80::5efe:c0a8:199'), null, 'a potential router may send from any source');
});
