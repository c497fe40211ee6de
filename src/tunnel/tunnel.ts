/**
 * One tunnel's runtime state: its parameters plus what the packet path keeps between packets
 * (counters, GRE sequence numbers, UP state and what is known about the outer route).
 * Pure data: the engine and the daemon fill in the device and route facts.
 */
import type { DropReason } from './drop.js';
import { countDrop } from './drop.js';
import type { PrlEntry } from './isatap.js';
import { NextHopTable } from './nexthop.js';
import { GRE_CSUM, GRE_KEY, GRE_SEQ, type SixRdParams, type TunnelParams } from './params.js';
import { defaultSixRd, type DeviceAddress } from './sixrd.js';
import { emptyStats, type TunnelStats } from './stats.js';

/** What the daemon learned about the route to the tunnel's remote. */
export type OuterRouteState =
  /** Usable: the outer route leaves by `oif` with MTU `mtu`. */
  | 'ok'
  /** No route to the remote, or `local` is not an address of this host (NoRoute). */
  | 'no-route'
  /** The route to the remote leads into this tunnel (DeadLoop). */
  | 'dead-loop';

export class Tunnel {
  params: TunnelParams;
  /** Interface index of the tunnel's own device. */
  ifindex = 0;
  /** Administratively up: a tunnel only receives while up (spec 3.1). */
  up = false;
  readonly stats: TunnelStats = emptyStats();
  readonly drops = new Map<DropReason, number>();
  /** GRE: next sequence number to send (starts at 0 on current kernels, spec 3.8). */
  txSeq = 0;
  /** GRE iseq: the sequence number expected next; 0 accepts any (the kernel's i_seqno). */
  rxSeq = 0;
  /**
   * IPv4 ID of the next outer packet sent with DF. The kernel's tunnels give every outer packet a new
   * ID from a counter per (source, destination, protocol) that starts at random (iptunnel_xmit calls
   * __ip_select_ident whatever DF says). A raw socket does the same for a packet without DF whose ID
   * is 0, but leaves the ID of a DF packet at 0, so for those burrow counts itself. The engine seeds
   * it at random when it attaches the tunnel.
   */
  txId = 0;
  route: OuterRouteState = 'ok';
  /** MTU of the outer route (device MTU, or a route/PMTU exception), used for DF and frag-needed. */
  routeMtu = 1500;
  /** Interface the outer route leaves by, 0 when unknown. */
  routeOif = 0;
  /** NBMA (remote any): the routes through the tunnel device and their next hops. */
  readonly nextHops = new NextHopTable();
  /** sit and isatap: the 6rd/6to4 configuration (a new tunnel copies sit0's 2002::/16). */
  sixRd: SixRdParams = defaultSixRd();
  /** ISATAP potential router list, newest first (the kernel keeps it on any sit device). */
  prl: PrlEntry[] = [];
  /** The IPv6 addresses on the device (6rd's only_dnatted, ISATAP's on-link prefix check). */
  deviceAddresses: DeviceAddress[] = [];

  constructor(params: TunnelParams) {
    this.params = params;
  }

  get name(): string {
    return this.params.name;
  }

  drop(reason: DropReason): DropReason {
    countDrop(this.stats, this.drops, reason);
    return reason;
  }
}

/** Bytes a mode adds in front of the inner packet, not counting the outer IPv4 header. */
export function tunnelHeaderLength(params: TunnelParams): number {
  if (params.mode !== 'gre') return 0;
  let length = 4;
  if (params.oflags & GRE_CSUM) length += 4;
  if (params.oflags & GRE_KEY) length += 4;
  if (params.oflags & GRE_SEQ) length += 4;
  return length;
}

/** IPv4 header plus the mode's header: what the tunnel costs per packet. */
export function tunnelOverhead(params: TunnelParams): number {
  return 20 + tunnelHeaderLength(params);
}

/** Smallest MTU the kernel lets a tunnel have: 68 (IPv4), 1280 for sit (IPv6). */
export function minimumMtu(params: TunnelParams): number {
  return params.mode === 'sit' || params.mode === 'isatap' ? 1280 : 68;
}

/**
 * The MTU the kernel gives a new tunnel (ip_tunnel_bind_dev): the MTU of the device the route to the
 * remote leaves by (else the `dev` device, else 1500) minus the overhead, never below the minimum
 * (ipip6_tunnel_bind_dev clamps sit at 1280).
 */
export function defaultMtu(params: TunnelParams, underlayMtu: number | null): number {
  const base = underlayMtu ?? 1500;
  return Math.max(base - tunnelOverhead(params), minimumMtu(params));
}
