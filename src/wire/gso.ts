/**
 * Segmentation and checksum offload done in burrow: what the kernel's software GSO does (tcp_gso_segment,
 * inet_gso_segment, ipv6_gso_segment) and what skb_checksum_help does, for packets a TUN/TAP device gave
 * with a virtio_net_hdr (virtio-net.ts) that still need it before they go onto a wire.
 *
 * A TCP superframe (gso_type TCPV4/TCPV6) is one IP packet whose payload stands for several segments of
 * `gso_size` bytes. Each segment `writeTcpSegment` cuts gets, as the kernel's segmentation gives it:
 *   - the headers (IP, options, extension headers, TCP with options) copied;
 *   - IPv4: total length of the segment, ID = the superframe's ID + index (mod 2^16), a new header
 *     checksum; IPv6: payload length of the segment;
 *   - TCP: sequence number + index * gso_size; FIN and PSH kept on the last segment only; CWR kept on
 *     the first only (tcp_gso_segment clears it after the first); a full checksum over the pseudo-header
 *     and the segment, 0 written as 0xffff (CSUM_MANGLED_0, as skb_checksum_help writes it).
 * The offset of the IP header inside the packet is the caller's (0 for TUN, 14 for an Ethernet frame).
 */
import { internetChecksum, ipv4PseudoHeaderSum, ipv6PseudoHeaderSum, onesComplementSum } from './checksum.js';
import { IPPROTO_TCP } from './numbers.js';
import { ipv4DstUnchecked, ipv4RefreshChecksumUnchecked, ipv4SrcUnchecked } from './ipv4.js';
import {
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  type VirtioNetHeader,
} from './virtio-net.js';

export type GsoMalformation = 'truncated' | 'bad-gso';

const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/** A checked superframe: where its parts are (offsets from the packet's start) and how it splits. */
export interface TcpSuperframe {
  version: 4 | 6;
  /** The IP header. */
  l3: number;
  /** The TCP header. */
  l4: number;
  /** Bytes before the payload: everything up to the end of the TCP header. */
  headerLength: number;
  payloadLength: number;
  /** Payload bytes per segment. */
  mss: number;
  segments: number;
  /** IPv4 ID and TCP sequence number of the superframe (the first segment's). */
  id: number;
  seq: number;
}

export function newTcpSuperframe(): TcpSuperframe {
  return { version: 4, l3: 0, l4: 0, headerLength: 0, payloadLength: 0, mss: 0, segments: 0, id: 0, seq: 0 };
}

/**
 * The single length gate for a superframe at bytes[start, start+length) with its IP header at `l3`:
 * the gso type names TCP over the IP version found there, csum_start points at a whole TCP header
 * behind the IP header, gso_size is not 0. Fills `out`, or returns why not.
 */
export function parseTcpSuperframe(
  bytes: Uint8Array,
  start: number,
  length: number,
  l3: number,
  h: VirtioNetHeader,
  out: TcpSuperframe,
): GsoMalformation | null {
  const type = h.gsoType & ~VIRTIO_NET_HDR_GSO_ECN;
  const version = type === VIRTIO_NET_HDR_GSO_TCPV4 ? 4 : type === VIRTIO_NET_HDR_GSO_TCPV6 ? 6 : 0;
  if (version === 0 || h.gsoSize === 0) return 'bad-gso';
  const l4 = h.csumStart;
  if (l3 + (version === 4 ? 20 : 40) > length || l4 + 20 > length) return 'truncated';
  const ip = start + l3;
  if (bytes[ip] >>> 4 !== version) return 'bad-gso';
  if (version === 4) {
    const ihl = (bytes[ip] & 0x0f) * 4;
    if (ihl < 20 || l4 !== l3 + ihl || bytes[ip + 9] !== IPPROTO_TCP) return 'bad-gso';
  } else if (l4 < l3 + 40) {
    return 'bad-gso';
  }
  if (h.csumOffset !== 16) return 'bad-gso';
  const doff = (bytes[start + l4 + 12] >>> 4) * 4;
  if (doff < 20) return 'bad-gso';
  const headerLength = l4 + doff;
  if (headerLength > length) return 'truncated';
  out.version = version;
  out.l3 = l3;
  out.l4 = l4;
  out.headerLength = headerLength;
  out.payloadLength = length - headerLength;
  out.mss = h.gsoSize;
  out.segments = Math.max(1, Math.ceil(out.payloadLength / h.gsoSize));
  out.id = version === 4 ? (bytes[ip + 4] << 8) | bytes[ip + 5] : 0;
  const th = start + l4;
  out.seq = ((bytes[th + 4] << 24) | (bytes[th + 5] << 16) | (bytes[th + 6] << 8) | bytes[th + 7]) >>> 0;
  return null;
}

/** The pseudo-header sum of a TCP segment of `tcpLength` bytes behind the IPv4 or IPv6 header at `ip`. */
export function tcpPseudoHeaderSum(bytes: Uint8Array, ip: number, version: 4 | 6, tcpLength: number): number {
  return version === 4
    ? ipv4PseudoHeaderSum(ipv4SrcUnchecked(bytes, ip), ipv4DstUnchecked(bytes, ip), IPPROTO_TCP, tcpLength)
    : ipv6PseudoHeaderSum(bytes, ip + 8, bytes, ip + 24, tcpLength, IPPROTO_TCP);
}

/** Copies bytes within one buffer without allocating, or between two (a view per call). */
function copy(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  if (src === dst) dst.copyWithin(at, from, to);
  else dst.set(src.subarray(from, to), at);
}

/**
 * Writes segment `index` of the superframe at src[start..) to dst[at..) (which must not overlap the
 * superframe) and returns its length.
 */
export function writeTcpSegment(
  src: Uint8Array,
  start: number,
  frame: TcpSuperframe,
  index: number,
  dst: Uint8Array,
  at: number,
): number {
  const offset = index * frame.mss;
  const payload = Math.min(frame.mss, frame.payloadLength - offset);
  const hl = frame.headerLength;
  const length = hl + payload;
  copy(src, start, start + hl, dst, at);
  copy(src, start + hl + offset, start + hl + offset + payload, dst, at + hl);
  const ip = at + frame.l3;
  const th = at + frame.l4;
  const tcpLength = length - frame.l4;
  if (frame.version === 4) {
    const total = length - frame.l3;
    const id = (frame.id + index) & 0xffff;
    const ihl = frame.l4 - frame.l3;
    dst[ip + 2] = total >>> 8;
    dst[ip + 3] = total;
    dst[ip + 4] = id >>> 8;
    dst[ip + 5] = id;
    ipv4RefreshChecksumUnchecked(dst, ip, ihl);
  } else {
    const payloadLength = length - frame.l3 - 40;
    dst[ip + 4] = payloadLength >>> 8;
    dst[ip + 5] = payloadLength;
  }
  const pseudo = tcpPseudoHeaderSum(dst, ip, frame.version, tcpLength);
  const seq = (frame.seq + offset) >>> 0;
  dst[th + 4] = seq >>> 24;
  dst[th + 5] = seq >>> 16;
  dst[th + 6] = seq >>> 8;
  dst[th + 7] = seq;
  let flags = dst[th + 13];
  if (index !== frame.segments - 1) flags &= ~(TCP_FIN | TCP_PSH);
  if (index !== 0) flags &= ~TCP_CWR;
  dst[th + 13] = flags;
  dst[th + 16] = 0;
  dst[th + 17] = 0;
  const check = internetChecksum(dst, th, tcpLength, pseudo) || 0xffff;
  dst[th + 16] = check >>> 8;
  dst[th + 17] = check;
  return length;
}

/**
 * Finishes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) in place: the field at csumStart +
 * csumOffset holds the pseudo-header sum; the checksum over csumStart..end (that sum included) goes
 * into it, 0 as 0xffff (skb_checksum_help). Offsets are from `start`. False when they lie outside the
 * packet (nothing is written).
 */
export function completeChecksum(
  bytes: Uint8Array,
  start: number,
  length: number,
  csumStart: number,
  csumOffset: number,
): boolean {
  const field = csumStart + csumOffset;
  if (csumStart >= length || field + 2 > length) return false;
  const check = internetChecksum(bytes, start + csumStart, length - csumStart) || 0xffff;
  bytes[start + field] = check >>> 8;
  bytes[start + field + 1] = check;
  return true;
}
