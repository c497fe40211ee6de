/**
 * Next hops of an NBMA tunnel (`remote any`; spec 3.5): where the kernel sends a packet that a route
 * through the tunnel chose. For an inner IPv4 packet the outer destination is the route's gateway
 * (`ip route add 10.2.0.0/24 via 192.168.2.20 dev tun onlink`), else the inner destination itself
 * (ip_tunnel_xmit: rt_nexthop). For an inner IPv6 packet it is the neighbour the route names (gateway,
 * else the destination), which must then be an IPv4-compatible address ::a.b.c.d (ipip6_tunnel_xmit,
 * ip_tunnel_xmit: dst_neigh_lookup and IPV6_ADDR_COMPATv4).
 *
 * The kernel reads the route from the packet (skb_dst); a TUN device hands burrow the packet without
 * it, so the daemon copies the routes that leave through the tunnel device into this table (a routing
 * dump on each route event, never a request per packet) and the lookup here repeats the kernel's
 * longest-prefix choice among them. Each route also carries what the outer route to its next hop is
 * (the daemon resolves it once per route), so NoRoute, DeadLoop and the path MTU work as for a
 * point-to-point tunnel.
 */
import { ipv6InPrefix } from '../wire/address.js';
import type { OuterRouteState } from './tunnel.js';

export interface NextHopRoute {
  /** Destination prefix: IPv4 host-order number or 16 IPv6 bytes, with its length. */
  prefix: number | Uint8Array;
  prefixLength: number;
  /** Gateway (`via`): IPv4 number or IPv6 bytes; null for an on-link route (`dev tun` only). */
  gateway: number | Uint8Array | null;
  /** Route metric; the lower wins between equal prefixes, as in the FIB. */
  priority: number;
  /** What the outer route to this route's next hop is (for an on-link route, to its prefix). */
  outer: OuterRouteState;
  /** MTU of that outer route. */
  outerMtu: number;
}

interface Ipv4Entry {
  prefix: number;
  mask: number;
  gateway: number;
  outer: OuterRouteState;
  outerMtu: number;
}

interface Ipv6Entry {
  prefix: Uint8Array;
  length: number;
  gateway: Uint8Array | null;
  outer: OuterRouteState;
  outerMtu: number;
}

/** Longest prefix first, then lowest metric: the first entry that matches is the FIB's choice. */
function byPreference(a: NextHopRoute, b: NextHopRoute): number {
  return b.prefixLength - a.prefixLength || a.priority - b.priority;
}

function ipv4Mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** Most IPv4 destinations remembered between route changes; past it the memo starts again. */
const MEMO_LIMIT = 4096;
const NO_ENTRY = -1;

export class NextHopTable {
  private v4: Ipv4Entry[] = [];
  private v6: Ipv6Entry[] = [];
  /** Inner IPv4 destination -> index into v4 (or NO_ENTRY); cleared whenever the routes change. */
  private readonly memo = new Map<number, number>();
  /** The outer route of the last lookup's route. */
  outer: OuterRouteState = 'ok';
  outerMtu = 1500;

  /** Replaces the routes (the daemon calls it after each route event). */
  setRoutes(routes: readonly NextHopRoute[]): void {
    const sorted = [...routes].sort(byPreference);
    this.v4 = [];
    this.v6 = [];
    for (const r of sorted) {
      if (typeof r.prefix === 'number') {
        const mask = ipv4Mask(r.prefixLength);
        this.v4.push({
          prefix: (r.prefix & mask) >>> 0,
          mask,
          gateway: typeof r.gateway === 'number' ? r.gateway >>> 0 : 0,
          outer: r.outer,
          outerMtu: r.outerMtu,
        });
      } else {
        this.v6.push({
          prefix: r.prefix,
          length: r.prefixLength,
          gateway: r.gateway instanceof Uint8Array && !r.gateway.every((b) => b === 0) ? r.gateway : null,
          outer: r.outer,
          outerMtu: r.outerMtu,
        });
      }
    }
    this.memo.clear();
  }

  get size(): number {
    return this.v4.length + this.v6.length;
  }

  /** Next hop for an inner IPv4 destination, 0 when no route through the tunnel covers it. */
  ipv4(destination: number): number {
    let index = this.memo.get(destination);
    if (index === undefined) {
      index = NO_ENTRY;
      for (let i = 0; i < this.v4.length; i++) {
        const e = this.v4[i];
        if (((destination & e.mask) >>> 0) === e.prefix) {
          index = i;
          break;
        }
      }
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(destination, index);
    }
    if (index === NO_ENTRY) return 0;
    const e = this.v4[index];
    this.outer = e.outer;
    this.outerMtu = e.outerMtu;
    return e.gateway !== 0 ? e.gateway : destination >>> 0;
  }

  /**
   * The neighbour an inner IPv6 destination goes to: the 16 bytes of the gateway, or `bytes` itself
   * when the route is on-link. Returns the array and sets `neighbourOffset`; null with no route.
   */
  ipv6(bytes: Uint8Array, offset: number): Uint8Array | null {
    for (let i = 0; i < this.v6.length; i++) {
      const e = this.v6[i];
      if (!ipv6InPrefix(bytes, e.prefix, e.length, offset)) continue;
      this.outer = e.outer;
      this.outerMtu = e.outerMtu;
      if (e.gateway === null) {
        this.neighbourOffset = offset;
        return bytes;
      }
      this.neighbourOffset = 0;
      return e.gateway;
    }
    return null;
  }

  /** Where in the array ipv6() returned the neighbour's 16 bytes start. */
  neighbourOffset = 0;
}

/**
 * The IPv4 address of an IPv4-compatible IPv6 address (::a.b.c.d, RFC 4291 2.5.5.1; the kernel's
 * IPV6_ADDR_COMPATv4: the first 96 bits zero and the IPv4 part neither 0 nor 1), else 0.
 */
export function ipv4OfCompatible(bytes: Uint8Array, offset: number): number {
  for (let i = 0; i < 12; i++) if (bytes[offset + i] !== 0) return 0;
  const v4 = ((bytes[offset + 12] << 24) | (bytes[offset + 13] << 16) | (bytes[offset + 14] << 8) | bytes[offset + 15]) >>> 0;
  return v4 > 1 ? v4 : 0;
}
