/**
 * Receive coalescing (what the kernel's GRO does in tcp_gro_receive / inet_gro_receive), done in burrow
 * before packets are written into a TUN/TAP device opened with IFF_VNET_HDR: consecutive TCP segments of
 * one flow become one superframe with a virtio_net_hdr (gso_type TCPV4/TCPV6, gso_size = the first
 * segment's payload, a partial checksum), so the kernel's stack takes one packet instead of many.
 *
 * A segment joins the group open before it only when the result is what segmenting the superframe
 * gives back (wire/gso.ts), as GRO demands:
 *   - both are TCP over IPv4 without options or fragments, or over IPv6 with TCP as the next header;
 *   - the IP headers agree but for length, ID and checksum (addresses, TOS/traffic class and flow
 *     label, TTL/hop limit, DF), and an IPv4 ID is the group's first ID + the segments before it;
 *   - ports, acknowledgement, data offset, window and options agree; the segment's sequence number is
 *     where the group ends; both have only ACK (and PSH on the last) among the flags;
 *   - every segment before the last carries exactly gso_size bytes; a shorter one, or one with PSH,
 *     closes the group; so does reaching 64 KiB or the room the caller gives;
 *   - every segment's TCP checksum verifies (after coalescing the kernel no longer checks it).
 * The IP header starts `l3` bytes into each packet (0 for TUN; 14 for an untagged Ethernet frame, whose
 * header must then be equal too).
 */
import { internetChecksum } from './checksum.js';
import { tcpPseudoHeaderSum } from './gso.js';
import { ipv4RefreshChecksumUnchecked } from './ipv4.js';
import { IPPROTO_TCP } from './numbers.js';
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  type VirtioNetHeader,
} from './virtio-net.js';

const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
/** An IP packet's largest length (the IPv4 total length and the IPv6 payload length are 16 bits). */
const MAX_IP_LENGTH = 0xffff;

/** The open group: the packet at `start` that later segments are appended to. */
export interface TcpGroup {
  open: boolean;
  start: number;
  length: number;
  /** Where the group's buffer room ends (exclusive). */
  limit: number;
  l3: number;
  version: 4 | 6;
  /** Offset of the TCP header and of the payload, from `start`. */
  l4: number;
  headerLength: number;
  mss: number;
  segments: number;
  nextSeq: number;
  firstId: number;
}

export function newTcpGroup(): TcpGroup {
  return { open: false, start: 0, length: 0, limit: 0, l3: 0, version: 4, l4: 0, headerLength: 0, mss: 0, segments: 0, nextSeq: 0, firstId: 0 };
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/**
 * Where the TCP header of a coalescing candidate starts (from `start`), or -1: a TCP segment with a
 * payload, flags ACK or ACK|PSH only, no IPv4 options or fragments, whose checksum verifies.
 */
export function tcpCandidate(bytes: Uint8Array, start: number, length: number, l3: number): number {
  const ip = start + l3;
  if (length < l3 + 40) return -1;
  const version = bytes[ip] >>> 4;
  // Behind an Ethernet header the EtherType must say so (a VLAN tag or ARP could look like IP).
  if (l3 === 14 && ((bytes[start + 12] << 8) | bytes[start + 13]) !== (version === 4 ? 0x0800 : 0x86dd)) return -1;
  let l4: number;
  let tcpLength: number;
  if (version === 4) {
    if (bytes[ip] !== 0x45 || bytes[ip + 9] !== IPPROTO_TCP) return -1;
    if ((bytes[ip + 6] & 0x3f) !== 0 || bytes[ip + 7] !== 0) return -1; // MF or a fragment offset
    const total = (bytes[ip + 2] << 8) | bytes[ip + 3];
    if (total !== length - l3) return -1;
    l4 = l3 + 20;
    tcpLength = total - 20;
  } else if (version === 6) {
    if (bytes[ip + 6] !== IPPROTO_TCP || length < l3 + 60) return -1;
    const payload = (bytes[ip + 4] << 8) | bytes[ip + 5];
    if (payload !== length - l3 - 40) return -1;
    l4 = l3 + 40;
    tcpLength = payload;
  } else {
    return -1;
  }
  const pseudo = tcpPseudoHeaderSum(bytes, ip, version, tcpLength);
  const th = start + l4;
  const doff = (bytes[th + 12] >>> 4) * 4;
  if (doff < 20 || doff >= tcpLength) return -1; // no payload: nothing to gain
  const flags = bytes[th + 13];
  if ((flags & ~TCP_PSH) !== TCP_ACK || (bytes[th + 12] & 0x0f) !== 0) return -1;
  if (internetChecksum(bytes, th, tcpLength, pseudo) !== 0) return -1;
  return l4;
}

/** Opens a group at a candidate (tcpCandidate gave `l4`); a PSH segment stays alone. */
export function openTcpGroup(
  bytes: Uint8Array,
  start: number,
  length: number,
  limit: number,
  l3: number,
  l4: number,
  group: TcpGroup,
): void {
  const th = start + l4;
  const headerLength = l4 + (bytes[th + 12] >>> 4) * 4;
  group.open = (bytes[th + 13] & TCP_PSH) === 0;
  group.start = start;
  group.length = length;
  group.limit = Math.min(limit, start + l3 + MAX_IP_LENGTH);
  group.l3 = l3;
  group.version = bytes[start + l3] >>> 4 === 4 ? 4 : 6;
  group.l4 = l4;
  group.headerLength = headerLength;
  group.mss = length - headerLength;
  group.segments = 1;
  group.nextSeq = (u32(bytes, th + 4) + group.mss) >>> 0;
  group.firstId = group.version === 4 ? (bytes[start + l3 + 4] << 8) | bytes[start + l3 + 5] : 0;
}

/** Whether bytes[a..a+n) equals bytes[b..b+n). */
function same(bytes: Uint8Array, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

/**
 * Appends the candidate at bytes[start, start+length) (tcpCandidate gave `l4`) to the open group when
 * it belongs there (see the top): its payload is copied behind the group's, and the group grows.
 * Returns false, changing nothing, when it does not.
 */
export function appendToTcpGroup(bytes: Uint8Array, start: number, length: number, l4: number, group: TcpGroup): boolean {
  if (!group.open || l4 !== group.l4) return false;
  const g = group.start;
  const hl = group.headerLength;
  const payload = length - hl;
  if (payload <= 0 || payload > group.mss || group.start + group.length + payload > group.limit) return false;
  const th = start + l4;
  const gth = g + l4;
  if ((bytes[th + 12] >>> 4) * 4 !== hl - l4) return false;
  if (u32(bytes, th + 4) !== group.nextSeq) return false;
  // Ethernet header and IP header but length, ID and checksum.
  const l3 = group.l3;
  if (!same(bytes, g, start, l3)) return false;
  const ip = start + l3;
  const gip = g + l3;
  if (group.version === 4) {
    if (bytes[ip + 1] !== bytes[gip + 1] || !same(bytes, gip + 6, ip + 6, 4) || !same(bytes, gip + 12, ip + 12, 8)) return false;
    const id = (bytes[ip + 4] << 8) | bytes[ip + 5];
    if (id !== ((group.firstId + group.segments) & 0xffff)) return false;
  } else if (!same(bytes, gip, ip, 4) || !same(bytes, gip + 6, ip + 6, 34)) {
    return false;
  }
  // Ports, ack; offset, flags but PSH, window; options.
  if (!same(bytes, gth, th, 4) || !same(bytes, gth + 8, th + 8, 5) || !same(bytes, gth + 14, th + 14, 2)) return false;
  if ((bytes[th + 13] & ~TCP_PSH) !== (bytes[gth + 13] & ~TCP_PSH)) return false;
  if (!same(bytes, gth + 20, th + 20, hl - l4 - 20)) return false;
  bytes.copyWithin(g + group.length, start + hl, start + length);
  group.length += payload;
  group.segments++;
  group.nextSeq = (group.nextSeq + payload) >>> 0;
  if ((bytes[th + 13] & TCP_PSH) !== 0) {
    bytes[gth + 13] |= TCP_PSH;
    group.open = false;
  }
  if (payload < group.mss) group.open = false;
  return true;
}

/**
 * Makes the group's first packet the superframe: lengths, IPv4 header checksum, the TCP checksum field
 * holding the pseudo-header sum (a partial checksum, as the stack leaves it for an offload), and `h`
 * the virtio_net_hdr that says so. Only for a group of two segments or more.
 */
export function finishTcpGroup(bytes: Uint8Array, group: TcpGroup, h: VirtioNetHeader): void {
  const g = group.start;
  const ip = g + group.l3;
  const tcpLength = group.length - group.l4;
  if (group.version === 4) {
    const total = group.length - group.l3;
    bytes[ip + 2] = total >>> 8;
    bytes[ip + 3] = total;
    ipv4RefreshChecksumUnchecked(bytes, ip, 20);
  } else {
    const payload = group.length - group.l3 - 40;
    bytes[ip + 4] = payload >>> 8;
    bytes[ip + 5] = payload;
  }
  const pseudo = tcpPseudoHeaderSum(bytes, ip, group.version, tcpLength);
  bytes[g + group.l4 + 16] = pseudo >>> 8;
  bytes[g + group.l4 + 17] = pseudo;
  h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h.gsoType = group.version === 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
  h.hdrLen = group.headerLength;
  h.gsoSize = group.mss;
  h.csumStart = group.l4;
  h.csumOffset = 16;
  group.open = false;
}
