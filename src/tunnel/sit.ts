/**
 * sit: IPv6 in IPv4, IP protocol 41 (RFC 4213; net/ipv6/sit.c): point-to-point tunnels, NBMA tunnels
 * with 6to4/6rd (sixrd.ts) and ISATAP (isatap.ts).
 *
 * The outer destination of an IPv6 packet, in the kernel's order (ipip6_tunnel_xmit): on an ISATAP
 * device the ISATAP neighbour the route names (nothing else); else the fixed remote; else the IPv4
 * address 6rd/6to4 embeds in the inner destination; else an IPv4-compatible neighbour ::a.b.c.d.
 *
 * sit's transmit differs from ip_tunnel_xmit in small ways the wire shows (ipip6_tunnel_xmit): TOS is
 * inherited only for exactly `tos inherit` (1), DF comes from the tunnel alone, and when the path MTU
 * less 20 is below 1280 the packet goes with MTU 1280 and DF clear, to be fragmented on the way.
 */
import { ipv4DstUnchecked, ipv4SrcUnchecked } from '../wire/ipv4.js';
import { IPV6_MIN_MTU, ipv6HopLimitUnchecked, ipv6TrafficClassUnchecked } from '../wire/ipv6.js';
import { isPrivateIpv4 } from '../wire/address.js';
import type { DropReason } from './drop.js';
import { checkTransmit, finishReceive, fixedPath, innerVersion, nextHopPath, writeOuter, type OuterPath } from './ip-tunnel.js';
import { isatapNextHop, isatapSourceOk } from './isatap.js';
import { sixRdCheck, sixRdIpv4 } from './sixrd.js';
import type { DecapResult, EncapResult } from './mode.js';
import type { TunnelTable } from './table.js';
import type { Tunnel } from './tunnel.js';
import { outerTos, outerTtl } from './rules.js';

export const IPPROTO_IPV6 = 41;

export function encapsulateSit(t: Tunnel, bytes: Uint8Array, start: number, length: number, out: EncapResult): DropReason | null {
  const version = innerVersion(bytes, start, length);
  if (version !== 6) return version === 0 ? 'tx-malformed' : 'tx-wrong-protocol';
  const p = t.params;
  const path = sitPath(t, bytes, start);
  if (path.destination === 0) return 'nbma-no-ipv4-neighbour';
  let df = p.pmtudisc;
  // Below 1280 the kernel sends at 1280 without DF rather than refuse IPv6's minimum MTU.
  if (df && path.mtu - 20 < IPV6_MIN_MTU) df = false;
  const refused = checkTransmit(path, length, 6, df, 0, out);
  if (refused !== null) return refused;
  const ds = ipv6TrafficClassUnchecked(bytes, start);
  const tos = outerTos(p.tos === 1 ? 1 : p.tos & ~1, ds);
  const ttl = outerTtl(p.ttl, ipv6HopLimitUnchecked(bytes, start));
  writeOuter(t, path.destination, bytes, start, length, 0, IPPROTO_IPV6, tos, ttl, df, out);
  return null;
}

/** Where an IPv6 packet on a sit or isatap tunnel goes (see the top of this file). */
function sitPath(t: Tunnel, bytes: Uint8Array, start: number): OuterPath {
  if (t.params.mode === 'isatap') {
    const path = fixedPath(t);
    const neighbour = t.nextHops.ipv6(bytes, start + 24);
    path.destination = neighbour === null ? 0 : isatapNextHop(neighbour, t.nextHops.neighbourOffset);
    return path;
  }
  if (t.params.remote !== 0) return fixedPath(t);
  const v4 = sixRdIpv4(t.sixRd, bytes, start + 24);
  if (v4 === 0) return nextHopPath(t, bytes, start, 6);
  const path = fixedPath(t);
  path.destination = v4;
  return path;
}

export function receiveSit(
  table: TunnelTable,
  bytes: Uint8Array,
  outer: number,
  payload: number,
  payloadLength: number,
  ifindex: number,
  out: DecapResult,
): DropReason | null {
  const t = table.lookupSit(ifindex, ipv4SrcUnchecked(bytes, outer), ipv4DstUnchecked(bytes, outer));
  if (t === null) return 'no-tunnel';
  out.tunnel = t;
  if (innerVersion(bytes, payload, payloadLength) !== 6) return 'inner-malformed';
  // packet_is_spoofed: ISATAP checks the source; an NBMA sit checks both ends against 6rd.
  const source = ipv4SrcUnchecked(bytes, outer);
  if (t.params.mode === 'isatap') {
    if (!isatapSourceOk(t.prl, source, bytes, payload, t.deviceAddresses)) return 'isatap-source-spoofed';
  } else if (t.params.remote === 0) {
    const spoofed = sixRdCheck(t.sixRd, source, ipv4DstUnchecked(bytes, outer), bytes, payload, t.deviceAddresses);
    if (spoofed !== null) return spoofed;
  }
  return finishReceive(bytes, outer, payload, payloadLength, 6, out);
}

/**
 * The first four bytes of the ISATAP interface identifier for an IPv4 address (RFC 5214 6.1, the
 * kernel's __ipv6_isatap_ifid): 02-00-5E-FE for a global address, 00-00-5E-FE for a private or special
 * one. The IPv4 address follows. The kernel derives a gre device's link-local address this way too.
 */
export function isatapInterfaceId(address: number): Uint8Array {
  const special =
    isPrivateIpv4(address) ||
    address >>> 24 === 0 || // 0/8
    address >>> 24 === 127 || // loopback
    address >>> 16 === 0xa9fe || // 169.254/16 link-local
    address >>> 28 === 0xe || // multicast
    address === 0xffffffff || // broadcast
    address >>> 8 === 0xc00002 || // 192.0.2/24 TEST-NET-1
    address >>> 8 === 0xc05863 || // 192.88.99/24 6to4 anycast
    address >>> 17 === 0x6309; // 198.18/15 benchmarking (the kernel's list has no other test nets)
  return Uint8Array.of(special ? 0x00 : 0x02, 0x00, 0x5e, 0xfe);
}
