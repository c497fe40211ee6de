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
  'vxlan-truncated': { text: 'UDP payload shorter than the 8-byte VXLAN header', counters: [] },
  'vxlan-bad-flags': { text: 'VXLAN I flag clear (no valid VNI)', counters: [] },
  'vxlan-unknown-vni': { text: 'no vxlan device has this VNI on this UDP port (dropped silently, no ICMP)', counters: [] },
  // Receive, after a tunnel is chosen: charged to that tunnel.
  'csum-mismatch': { text: 'GRE checksum presence disagrees with icsum', counters: ['rxCrcErrors', RX_ERR] },
  'seq-out-of-order': { text: 'GRE sequence number missing or older than expected (iseq)', counters: ['rxFifoErrors', RX_ERR] },
  'ecn-ce-not-ect': { text: 'outer ECN is CE but the inner packet is not ECN-capable (RFC 6040)', counters: ['rxFrameErrors', RX_ERR] },
  'inner-malformed': { text: 'inner packet truncated, or not the IP version the outer protocol says (vxlan: IP frame without its full IP header)', counters: ['rxLengthErrors', RX_ERR] },
  'xfrm-in-no-state': {
    text: 'vti: ESP with no tunnel-mode state for its destination, SPI and mark = ikey (vti_rcv_cb charges the vti)',
    counters: [RX_ERR, 'rxDropped'],
  },
  'esp-malformed': {
    text: 'vti: ESP shorter than its header, IV and ICV, a bad trailer after decryption, or not IPv4 inside',
    counters: [RX_ERR, 'rxDropped'],
  },
  'esp-replay': { text: 'vti: ESP sequence number already seen in the replay window (state stats: replay)', counters: [RX_ERR, 'rxDropped'] },
  'esp-replay-window': {
    text: 'vti: ESP sequence number older than the replay window (state stats: replay-window)',
    counters: [RX_ERR, 'rxDropped'],
  },
  'esp-integrity': { text: 'vti: ESP ICV does not verify: tampered, or the wrong key (state stats: failed)', counters: [RX_ERR, 'rxDropped'] },
  'xfrm-in-policy': {
    text: 'vti: the inbound policy check refused the packet (no policy for a tunnel-mode packet, a block policy, no matching template; mark = ikey)',
    counters: [RX_ERR, 'rxDropped'],
  },
  'esp-no-tunnel': { text: 'ESP whose outer addresses match no vti that is up (burrow decrypts only for vti devices)', counters: [] },
  'sixrd-source-spoofed': {
    text: 'NBMA sit: the inner source is in the 6rd prefix but embeds another IPv4 address than the outer source',
    counters: [RX_ERR],
  },
  'sixrd-destination-spoofed': {
    text: 'NBMA sit: the inner destination is in the 6rd prefix, embeds another IPv4 address and is not on the device',
    counters: [RX_ERR],
  },
  'isatap-source-spoofed': {
    text: 'ISATAP: the sender is no potential router and the inner source is not its on-link ISATAP address',
    counters: [RX_ERR],
  },
  'inner-protocol': { text: 'GRE payload type the tunnel device cannot carry (not IPv4 or IPv6)', counters: ['rxDropped'] },
  'rx-device-error': { text: 'writing into the tunnel device failed (device down or gone)', counters: ['rxDropped'] },
  'vxlan-reserved-bits': { text: 'a reserved VXLAN header bit is set (Linux drops what RFC 7348 would ignore)', counters: ['rxFrameErrors', RX_ERR] },
  'inner-truncated': { text: 'vxlan: the inner frame is shorter than an Ethernet header', counters: [] },
  'own-mac': { text: "vxlan: the inner source is the device's own MAC (a loop)", counters: [] },
  'bad-source-mac': { text: 'vxlan: the inner source MAC is multicast or zero (not learnable)', counters: [] },
  'fdb-static-conflict': { text: 'vxlan: a static FDB entry has the inner source at another remote (it never migrates)', counters: [] },
  // Transmit: charged to the tunnel.
  'tx-wrong-protocol': { text: 'inner packet the mode cannot carry (IPv6 on ipip, IPv4 on sit)', counters: [TX_ERR] },
  'tx-malformed': { text: 'inner packet from the device is truncated', counters: [TX_ERR] },
  'no-fdb-entry': { text: 'vxlan: no FDB entry for the destination MAC and no default entry (or a remote without address)', counters: ['txDropped'] },
  'too-big': { text: 'inner packet over the path MTU with DF (ICMP frag-needed / Packet Too Big sent)', counters: [TX_ERR] },
  'no-route': { text: 'no route to the remote, or local is not a local address', counters: ['txCarrierErrors', TX_ERR] },
  'dead-loop': { text: 'the route to the remote goes back into the tunnel itself, or the packet is already 8 tunnels deep (a loop through other tunnels)', counters: ['collisions', TX_ERR] },
  'nbma-no-destination': { text: 'remote any and no route through the tunnel gives a next hop', counters: ['txFifoErrors', TX_ERR] },
  'nbma-no-ipv4-neighbour': {
    text: 'remote any and the IPv6 next hop has no IPv4 address in it (not 6rd/6to4, ISATAP or ::a.b.c.d)',
    counters: [TX_ERR],
  },
  'xfrm-out-no-state': {
    text: 'vti: no out policy (mark = okey) whose template resolves to a tunnel-mode state with the vti endpoints (ICMP unreachable sent)',
    counters: ['txCarrierErrors', TX_ERR],
  },
  'xfrm-out-policy-block': { text: 'vti: the out policy is action block (ICMP unreachable sent)', counters: ['txCarrierErrors', TX_ERR] },
  'xfrm-out-seq-overflow': {
    text: 'vti: the state has used up its 32-bit sequence numbers and must be replaced',
    counters: ['txAbortedErrors', TX_ERR],
  },
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
