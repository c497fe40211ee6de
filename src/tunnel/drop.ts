/**
 * Every reason burrow drops a packet, in one list (the kernel's dropreason-core.h plays this part).
 *
 * A drop is a value: the packet path returns one of these strings and the caller counts it, in the
 * per-reason table and in the kernel counter the same drop moves on a kernel tunnel, so `-s` shows what
 * the kernel would show. Reasons are named for the rule, not the mode.
 */
import type { TunnelStats } from './stats.js';

/** Kernel counters a drop moves; `Errors` in `ip -s` is rxErrors/txErrors. */
type CounterName = keyof TunnelStats;

interface ReasonSpec {
  /** What the reason means, for `docs/drop-reasons.md` and logs. */
  readonly text: string;
  /** Counters bumped on the tunnel that drops it (none for drops before a tunnel is chosen). */
  readonly counters: readonly CounterName[];
}

const RX_ERR = 'rxErrors' as const;
const TX_ERR = 'txErrors' as const;

export const DROP_REASONS = {
  // Receive, before a tunnel is chosen: charged to the daemon, not to a tunnel (as the kernel does).
  'outer-malformed': { text: 'outer IPv4 header truncated or invalid', counters: [] },
  'gre-truncated': { text: 'GRE header shorter than its flags say', counters: [] },
  'gre-version': { text: 'GRE version is not 0 (the kernel leaves version 1 to PPTP)', counters: [] },
  'gre-routing': { text: 'GRE routing bit set (RFC 2784 deprecates it; the kernel drops it)', counters: [] },
  'gre-bad-checksum': { text: 'GRE checksum present and wrong (dropped before the lookup)', counters: [] },
  'no-tunnel': { text: 'no tunnel that is up matches the addresses and key (ICMP port unreachable sent)', counters: [] },
  // Receive, after a tunnel is chosen: charged to that tunnel.
  'csum-mismatch': { text: 'GRE checksum presence disagrees with icsum', counters: ['rxCrcErrors', RX_ERR] },
  'seq-out-of-order': { text: 'GRE sequence number missing or older than expected (iseq)', counters: ['rxFifoErrors', RX_ERR] },
  'ecn-ce-not-ect': { text: 'outer ECN is CE but the inner packet is not ECN-capable (RFC 6040)', counters: ['rxFrameErrors', RX_ERR] },
  'inner-malformed': { text: 'inner packet truncated, or not the IP version the outer protocol says', counters: ['rxLengthErrors', RX_ERR] },
  'inner-protocol': { text: 'GRE payload type the tunnel device cannot carry (not IPv4 or IPv6)', counters: ['rxDropped'] },
  'rx-device-error': { text: 'writing into the tunnel device failed (device down or gone)', counters: ['rxDropped'] },
  // Transmit: charged to the tunnel.
  'tx-wrong-protocol': { text: 'inner packet the mode cannot carry (IPv6 on ipip, IPv4 on sit)', counters: [TX_ERR] },
  'tx-malformed': { text: 'inner packet from the device is truncated', counters: [TX_ERR] },
  'too-big': { text: 'inner packet over the path MTU with DF (ICMP frag-needed / Packet Too Big sent)', counters: [TX_ERR] },
  'no-route': { text: 'no route to the remote, or local is not a local address', counters: ['txCarrierErrors', TX_ERR] },
  'dead-loop': { text: 'the route to the remote goes back into the tunnel itself, or the packet is already 8 tunnels deep (a loop through other tunnels)', counters: ['collisions', TX_ERR] },
  'nbma-no-destination': { text: 'remote any and no next hop to send to', counters: ['txFifoErrors', TX_ERR] },
  'tx-no-buffer': { text: 'the underlay socket had no buffer space', counters: ['txDropped'] },
  'tx-send-failed': { text: 'the underlay socket refused the packet for another reason', counters: [TX_ERR] },
} as const satisfies Record<string, ReasonSpec>;

export type DropReason = keyof typeof DROP_REASONS;

export const ALL_DROP_REASONS = Object.keys(DROP_REASONS) as DropReason[];

/** Counts a drop: the per-reason table and the kernel counters it moves. */
export function countDrop(stats: TunnelStats, drops: Map<DropReason, number>, reason: DropReason): void {
  drops.set(reason, (drops.get(reason) ?? 0) + 1);
  const counters: readonly CounterName[] = DROP_REASONS[reason].counters;
  for (let i = 0; i < counters.length; i++) stats[counters[i]]++;
}
