/**
 * The ICMP errors the engine sends, built with wire/ builders in the form Linux sends them:
 * port unreachable to the sender of an outer packet no tunnel took (tunnel4 / gre_rcv), and frag-needed
 * or Packet Too Big to the sender of an inner packet too big for the path (tnl_update_pmtu), and host
 * (IPv6: address) unreachable to the sender of a packet a vti has no IPsec path for (dst_link_failure).
 * Each returns the length written into `out`, or 0 when Linux would send nothing about that packet.
 */
import { buildIcmpError, icmpErrorPermitted } from '../wire/icmp.js';
import { buildIcmpv6Error, icmpv6ErrorPermitted } from '../wire/icmpv6.js';
import { ipv4DstUnchecked, ipv4SrcUnchecked } from '../wire/ipv4.js';
import {
  ICMP_DEST_UNREACH,
  ICMP_FRAG_NEEDED,
  ICMP_HOST_UNREACH,
  ICMP_PORT_UNREACH,
  ICMPV6_ADDR_UNREACH,
  ICMPV6_DEST_UNREACH,
  ICMPV6_PACKET_TOO_BIG,
} from '../wire/numbers.js';

let nextId = 1;
function icmpId(): number {
  nextId = (nextId + 1) & 0xffff || 1;
  return nextId;
}

/**
 * Port unreachable about an outer IPv4 packet, from the address it was sent to. Its ID is left 0: the
 * raw socket it leaves by fills in the one the kernel's own icmp_send would pick (__ip_select_ident,
 * as for any packet without DF).
 */
export function buildPortUnreachable(packet: Uint8Array, start: number, length: number, out: Uint8Array, at: number): number {
  if (!icmpErrorPermitted(packet, start, length)) return 0;
  const to = ipv4SrcUnchecked(packet, start);
  const from = ipv4DstUnchecked(packet, start);
  return buildIcmpError(out, at, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, from, to, packet, start, length, 0);
}

/**
 * frag-needed about an inner IPv4 packet, carrying `mtu`. It goes into the tunnel device as if it came
 * from the packet's destination, so that the route back through the tunnel passes reverse-path checks
 * (the kernel sends it from an address of its own, which a packet coming in from a device may not
 * have). Nothing fills in its ID on that way, so it gets one here.
 */
export function buildFragNeeded(packet: Uint8Array, start: number, length: number, mtu: number, out: Uint8Array, at: number): number {
  if (!icmpErrorPermitted(packet, start, length)) return 0;
  const to = ipv4SrcUnchecked(packet, start);
  const from = ipv4DstUnchecked(packet, start);
  return buildIcmpError(out, at, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu & 0xffff, from, to, packet, start, length, icmpId());
}

/** Packet Too Big about an inner IPv6 packet, from its destination, to its source. */
export function buildPacketTooBig(packet: Uint8Array, start: number, length: number, mtu: number, out: Uint8Array, at: number): number {
  if (!icmpv6ErrorPermitted(packet, start, length, ICMPV6_PACKET_TOO_BIG)) return 0;
  return buildIcmpv6Error(out, at, ICMPV6_PACKET_TOO_BIG, 0, mtu, packet, start + 24, packet, start + 8, packet, start, length);
}

/**
 * Host unreachable (IPv4) or address unreachable (IPv6) about an inner packet, from its destination
 * (as frag-needed is: a source the stack accepts on the tunnel device), to its source.
 */
export function buildHostUnreachable(packet: Uint8Array, start: number, length: number, out: Uint8Array, at: number): number {
  if (packet[start] >>> 4 === 6) {
    if (!icmpv6ErrorPermitted(packet, start, length, ICMPV6_DEST_UNREACH)) return 0;
    return buildIcmpv6Error(out, at, ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH, 0, packet, start + 24, packet, start + 8, packet, start, length);
  }
  if (!icmpErrorPermitted(packet, start, length)) return 0;
  const to = ipv4SrcUnchecked(packet, start);
  const from = ipv4DstUnchecked(packet, start);
  return buildIcmpError(out, at, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, from, to, packet, start, length, icmpId());
}
