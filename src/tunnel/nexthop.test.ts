import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encapsulateGre } from './gre.js';
import { encapsulateIpip } from './ipip.js';
import { newEncapResult } from './mode.js';
import { ipv4OfCompatible, NextHopTable, type NextHopRoute } from './nexthop.js';
import { encapsulateSit } from './sit.js';
import { ip, ipv4Echo, ipv6Packet, upTunnel } from './test-helpers.js';

const route = (fields: Partial<NextHopRoute> & Pick<NextHopRoute, 'prefix' | 'prefixLength'>): NextHopRoute => ({
  gateway: null,
  priority: 0,
  outer: 'ok',
  outerMtu: 1500,
  ...fields,
});

const v6 = (...words: number[]): Uint8Array => {
  const b = new Uint8Array(16);
  words.forEach((w, i) => {
    b[2 * i] = w >> 8;
    b[2 * i + 1] = w & 0xff;
  });
  return b;
};

test('next hop of an IPv4 destination: longest prefix, then lowest metric; gateway or the destination', () => {
  const hops = new NextHopTable();
  hops.setRoutes([
    route({ prefix: ip('10.2.0.0'), prefixLength: 16, gateway: ip('192.168.2.20') }),
    route({ prefix: ip('10.2.3.0'), prefixLength: 24, gateway: ip('192.168.3.30'), priority: 10 }),
    route({ prefix: ip('10.2.3.0'), prefixLength: 24, gateway: ip('192.168.3.31'), priority: 5 }),
    route({ prefix: ip('10.9.0.0'), prefixLength: 24 }),
  ]);
  const cases: Array<[string, string]> = [
    ['10.2.0.1', '192.168.2.20'],
    ['10.2.3.4', '192.168.3.31'],
    ['10.9.0.7', '10.9.0.7'],
    ['10.3.0.1', '0.0.0.0'],
  ];
  for (let round = 0; round < 2; round++) {
    // The second round answers from the memo.
    for (const [dst, hop] of cases) assert.equal(hops.ipv4(ip(dst)), ip(hop), `${dst} (round ${round})`);
  }
  hops.setRoutes([]);
  assert.equal(hops.ipv4(ip('10.2.0.1')), 0, 'the memo is forgotten when the routes change');
});

test('next hop of an IPv6 destination; IPv4-compatible addresses', () => {
  const hops = new NextHopTable();
  hops.setRoutes([
    route({ prefix: v6(0x2001, 0xdb8), prefixLength: 32, gateway: v6(0, 0, 0, 0, 0, 0, 0xc0a8, 0x0214) }),
    route({ prefix: new Uint8Array(16), prefixLength: 96 }),
  ]);
  const dst = v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
  const n = hops.ipv6(dst, 0)!;
  assert.equal(ipv4OfCompatible(n, hops.neighbourOffset), ip('192.168.2.20'));
  const compat = v6(0, 0, 0, 0, 0, 0, 0x0a01, 0x0203);
  assert.equal(ipv4OfCompatible(hops.ipv6(compat, 0)!, hops.neighbourOffset), ip('10.1.2.3'), 'on-link: the destination itself');
  assert.equal(hops.ipv6(v6(0x2002), 0), null);
  const table: Array<[Uint8Array, number]> = [
    [v6(0, 0, 0, 0, 0, 0, 0, 0), 0],
    [v6(0, 0, 0, 0, 0, 0, 0, 1), 0],
    [v6(0, 0, 0, 0, 0, 0xffff, 0x0a00, 1), 0],
    [v6(0, 0, 0, 0, 0, 0, 0, 2), 2],
    [v6(0, 0, 0, 0, 0, 0, 0xc000, 0x0201), ip('192.0.2.1')],
  ];
  for (const [address, v4] of table) assert.equal(ipv4OfCompatible(address, 0), v4);
});

test('NBMA ipip and gre send to the next hop; no route through the tunnel is nbma-no-destination', () => {
  for (const [mode, encapsulate] of [['ipip', encapsulateIpip], ['gre', encapsulateGre]] as const) {
    const t = upTunnel({ name: 'n', mode, local: ip('192.168.1.10'), remote: 0, ttl: 64 });
    t.nextHops.setRoutes([route({ prefix: ip('10.2.0.0'), prefixLength: 24, gateway: ip('192.168.2.20'), outerMtu: 1400 })]);
    const out = newEncapResult();
    const pkt = ipv4Echo('10.1.1.1', '10.2.0.5');
    assert.equal(encapsulate(t, pkt.bytes, pkt.start, pkt.length, out), null, mode);
    assert.equal(out.destination, ip('192.168.2.20'));
    assert.equal(pkt.bytes.readUInt32BE(out.start + 16), ip('192.168.2.20'), 'outer destination on the wire');
    const big = ipv4Echo('10.1.1.1', '10.2.0.5', { payload: 1380 });
    assert.equal(encapsulate(t, big.bytes, big.start, big.length, out), 'too-big', 'the next hop route MTU applies');
    const other = ipv4Echo('10.1.1.1', '10.3.0.5');
    assert.equal(encapsulate(t, other.bytes, other.start, other.length, out), 'nbma-no-destination');
    t.nextHops.setRoutes([route({ prefix: ip('10.2.0.0'), prefixLength: 24, outer: 'dead-loop' })]);
    assert.equal(encapsulate(t, pkt.bytes, pkt.start, pkt.length, out), 'dead-loop', 'on-link route: the outer route is the tunnel');
  }
});

test('NBMA gre and sit with IPv6 inside: the neighbour must be IPv4-compatible', () => {
  for (const [mode, encapsulate] of [['gre', encapsulateGre], ['sit', encapsulateSit]] as const) {
    const t = upTunnel({ name: 'n', mode, local: ip('192.168.1.10'), remote: 0 });
    t.nextHops.setRoutes([
      route({ prefix: v6(0x2001, 0xdb8), prefixLength: 32, gateway: v6(0, 0, 0, 0, 0, 0, 0xc0a8, 0x0214) }),
      route({ prefix: v6(0x2001, 0xdb9), prefixLength: 32, gateway: v6(0xfe80, 0, 0, 0, 0, 0, 0, 1) }),
    ]);
    const out = newEncapResult();
    const ok = ipv6Packet(v6(0x2001, 0xdb8, 1), v6(0x2001, 0xdb8, 2));
    assert.equal(encapsulate(t, ok.bytes, ok.start, ok.length, out), null, mode);
    assert.equal(out.destination, ip('192.168.2.20'));
    const bad = ipv6Packet(v6(0x2001, 0xdb8, 1), v6(0x2001, 0xdb9, 2));
    assert.equal(encapsulate(t, bad.bytes, bad.start, bad.length, out), 'nbma-no-ipv4-neighbour');
    const none = ipv6Packet(v6(0x2001, 0xdb8, 1), v6(0x2001, 0xdba, 2));
    assert.equal(encapsulate(t, none.bytes, none.start, none.length, out), 'nbma-no-ipv4-neighbour');
  }
});
