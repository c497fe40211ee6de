import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BurrowError } from '../errors.js';
import { parseIpv6 } from '../wire/address.js';
import { newDecapResult, newEncapResult } from './mode.js';
import type { SixRdParams } from './params.js';
import { decapsulate } from './ip-tunnel.js';
import { defaultSixRd, sixRdCheck, sixRdIpv4, validateSixRd } from './sixrd.js';
import { encapsulateSit, receiveSit } from './sit.js';
import { TunnelTable } from './table.js';
import { ip, ipv6Packet, upTunnel } from './test-helpers.js';

const v6 = (text: string): Uint8Array => parseIpv6(text)!;
const sixRd = (prefix: string, relay = '0.0.0.0/0'): SixRdParams => {
  const [p, plen] = prefix.split('/');
  const [r, rlen] = relay.split('/');
  return { prefix: v6(p), prefixLength: Number(plen), relayPrefix: ip(r), relayPrefixLength: Number(rlen) };
};

test('6rd/6to4 address mapping (spec 3.9, scenario 11)', () => {
  const cases: Array<[SixRdParams, string, string]> = [
    [defaultSixRd(), '2002:c633:6401::1', '198.51.100.1'],
    [defaultSixRd(), '2002:c000:202:1::5', '192.0.2.2'],
    [defaultSixRd(), '2001:db8::1', '0.0.0.0'],
    [sixRd('2001:db8::/32', '10.0.0.0/8'), '2001:db8:a0b:c00::1', '10.10.11.12'],
    [sixRd('2001:db8::/32', '10.0.0.0/8'), '2001:db8:64c8:100::1', '10.100.200.1'],
    [sixRd('2001:db8::/32', '192.0.2.0/24'), '2001:db8:200::1', '192.0.2.2'],
    // Prefix not on a 32-bit boundary: the IPv4 bits straddle two words.
    [sixRd('2001:db8:8000::/33', '0.0.0.0/0'), '2001:db8:8000:0:8000::1', '0.0.0.1'],
    [sixRd('2001:db8:8000::/33', '0.0.0.0/0'), '2001:db8:e000:0:0::1', '192.0.0.0'],
    // A relay prefix of /32 leaves no bits: every destination in the prefix is the relay itself.
    [sixRd('2001:db8::/32', '10.1.2.3/32'), '2001:db8::1', '10.1.2.3'],
    // A zero-length prefix takes every address (the kernel does the same).
    [sixRd('::/0', '0.0.0.0/0'), 'c000:201::1', '192.0.2.1'],
  ];
  for (const [config, address, v4] of cases) assert.equal(sixRdIpv4(config, v6(address), 0), ip(v4), `${address}`);
});

test('SIOCADD6RD: the kernel EINVAL rules (spec 1.8)', () => {
  const ok: Array<[string, string]> = [
    ['2001:db8::/32', '10.0.0.0/8'],
    ['2001:db8::/32', '0.0.0.0/0'],
    ['2001:db8:100::/40', '10.1.0.0/16'],
    ['::/0', '0.0.0.0/0'],
  ];
  for (const [p, r] of ok) assert.doesNotThrow(() => validateSixRd(sixRd(p, r)), `${p} ${r}`);
  const bad: Array<[string, string]> = [
    ['2001:db8::/48', '0.0.0.0/0'], // 48 + 32 > 64
    ['2001:db8::/64', '10.0.0.0/8'], // 64 + 24 > 64
    ['2001:db8::1/32', '10.0.0.0/8'], // bits past the prefix
    ['2001:db8::/32', '10.0.0.1/8'], // bits past the relay prefix
    ['2001:db8::/128', '0.0.0.0/0'], // a prefix given without a length
  ];
  for (const [p, r] of bad) {
    assert.throws(() => validateSixRd(sixRd(p, r)), (e: unknown) => e instanceof BurrowError && e.code === 'EINVAL', `${p} ${r}`);
  }
  assert.throws(() => validateSixRd({ ...sixRd('2001:db8::/32'), relayPrefixLength: 33 }), BurrowError);
});

test('NBMA sit receive: 6rd spoofing checks (packet_is_spoofed)', () => {
  const config = sixRd('2001:db8::/32', '192.0.2.0/24');
  const pkt = (src: string, dst: string) => ipv6Packet(v6(src), v6(dst));
  const us = ip('192.0.2.1');
  const peer = ip('192.0.2.2');
  const onDevice = [{ address: v6('2001:db8:100::1'), prefixLength: 40 }];
  const cases: Array<[string, string, number, ReturnType<typeof sixRdCheck>]> = [
    ['2001:db8:200::1', '2001:db8:100::1', peer, null],
    ['2001:db8:300::1', '2001:db8:100::1', peer, 'sixrd-source-spoofed'],
    ['2001:db9::1', '2001:db8:100::1', peer, null], // the source is outside the prefix
    ['2001:db8:200::1', '2001:db8:500::1', peer, 'sixrd-destination-spoofed'],
    ['2001:db8:200::1', '2001:db9::1', peer, null],
  ];
  for (const [src, dst, outerSource, expected] of cases) {
    const p = pkt(src, dst);
    assert.equal(sixRdCheck(config, outerSource, us, p.bytes, p.start, onDevice), expected, `${src} -> ${dst}`);
  }
  // only_dnatted: a destination in a delegated prefix the device has an address in is accepted.
  const natted = pkt('2001:db8:200::1', '2001:db8:500::1');
  assert.equal(sixRdCheck(config, peer, us, natted.bytes, natted.start, [{ address: v6('2001:db8:500::9'), prefixLength: 64 }]), null);
});

test('sit transmit: 6to4/6rd destination on an NBMA tunnel; receive drops spoofed sources with rx_errors', () => {
  const t = upTunnel({ name: 'tun6to4', mode: 'sit', local: ip('10.100.200.1'), remote: 0, ttl: 64 });
  const out = newEncapResult();
  const p = ipv6Packet(v6('2002:c000:201::1'), v6('2002:c633:6401::1'));
  assert.equal(encapsulateSit(t, p.bytes, p.start, p.length, out), null);
  assert.equal(out.destination, ip('198.51.100.1'));
  t.sixRd = sixRd('2001:db8::/32', '10.0.0.0/8');
  const q = ipv6Packet(v6('2001:db8:64c8:100::1'), v6('2001:db8:a0b:c00::1'));
  assert.equal(encapsulateSit(t, q.bytes, q.start, q.length, out), null);
  assert.equal(out.destination, ip('10.10.11.12'));
  const none = ipv6Packet(v6('2001:db8:64c8:100::1'), v6('2001:db9::1'));
  assert.equal(encapsulateSit(t, none.bytes, none.start, none.length, out), 'nbma-no-ipv4-neighbour');

  // Receive: the outer packet that the transmit above built, from 10.10.11.12 back to us.
  const table = new TunnelTable();
  const rx = upTunnel({ name: 'r', mode: 'sit', local: ip('10.10.11.12'), remote: 0 });
  rx.sixRd = t.sixRd;
  rx.deviceAddresses = [{ address: v6('2001:db8:a0b:c00::1'), prefixLength: 56 }];
  table.add(rx);
  const back = ipv6Packet(v6('2001:db8:64c8:100::1'), v6('2001:db8:a0b:c00::1'));
  assert.equal(encapsulateSit(t, back.bytes, back.start, back.length, out), null);
  const result = newDecapResult();
  assert.equal(decapsulate(receiveSit, table, back.bytes, out.start, out.length, 0, result), null);
  assert.equal(result.tunnel, rx);
  const spoofed = ipv6Packet(v6('2001:db8:6400:100::1'), v6('2001:db8:a0b:c00::1'));
  assert.equal(encapsulateSit(t, spoofed.bytes, spoofed.start, spoofed.length, out), null);
  assert.equal(decapsulate(receiveSit, table, spoofed.bytes, out.start, out.length, 0, result), 'sixrd-source-spoofed');
  assert.equal(result.tunnel, rx, 'charged to the tunnel');
});
