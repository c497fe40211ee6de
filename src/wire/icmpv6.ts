/**
 * ICMPv6 (RFC 4443): the header, its checksum over the IPv6 pseudo-header, and a builder for the errors
 * a tunnel sends (Packet Too Big, destination unreachable, time exceeded) as Linux's icmp6_send does.
 *
 * ```
 * |     Type      |     Code      |          Checksum             |
 * |             Message body: MTU, pointer, unused, or id + seq   |
 * ```
 * The view's length must be the ICMPv6 message's length (the IPv6 payload length minus extension
 * headers), since the checksum covers all of it.
 */
import { internetChecksum, ipv6PseudoHeaderSum } from './checksum.js';
import { isMulticastIpv6, isUnspecifiedIpv6 } from './address.js';
import { IPV6_HEADER_LENGTH, IPV6_MIN_MTU, writeIpv6Header } from './ipv6.js';
import {
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMPV6,
  IPPROTO_ROUTING,
  ICMPV6_PACKET_TOO_BIG,
} from './numbers.js';
import { WireView } from './view.js';

/** Linux reads 8 bytes (struct icmp6hdr) before anything else. */
export const ICMPV6_HEADER_LENGTH = 8;

/** `truncated`: fewer than 8 bytes. `bad-checksum`: the checksum with the pseudo-header fails. */
export type Icmpv6Malformation = 'truncated' | 'bad-checksum';


export class Icmpv6View extends WireView {
  /**
   * `pseudoSum` is `ipv6PseudoHeaderSum(..., view.length, 58)` for the enclosing IPv6 header; ICMPv6
   * checksums are mandatory, so there is no way to skip it.
   */
  check(pseudoSum: number): Icmpv6Malformation | null {
    if (!this.holds(ICMPV6_HEADER_LENGTH)) return 'truncated';
    if (internetChecksum(this.bytes, this.offset, this.length, pseudoSum) !== 0) return 'bad-checksum';
    return null;
  }

  get type(): number {
    return this.bytes[this.offset];
  }
  get code(): number {
    return this.bytes[this.offset + 1];
  }
  get checksum(): number {
    return (this.bytes[this.offset + 2] << 8) | this.bytes[this.offset + 3];
  }
  /** Bytes 4-7 as an unsigned 32-bit number: the MTU of Packet Too Big, the pointer of a parameter problem. */
  get body(): number {
    const b = this.bytes;
    const o = this.offset;
    return ((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0;
  }
  get mtu(): number {
    return this.body;
  }
  get echoId(): number {
    return (this.bytes[this.offset + 4] << 8) | this.bytes[this.offset + 5];
  }
  get echoSequence(): number {
    return (this.bytes[this.offset + 6] << 8) | this.bytes[this.offset + 7];
  }
  get payloadOffset(): number {
    return this.offset + ICMPV6_HEADER_LENGTH;
  }
  get payloadLength(): number {
    return this.length - ICMPV6_HEADER_LENGTH;
  }
  /** Types below 128 are errors (RFC 4443 2.1). */
  get isError(): boolean {
    return this.bytes[this.offset] < 128;
  }
}

/** The ICMPv6 header as plain data; `checksum` is what parse found (emit computes its own). */
export interface Icmpv6Header {
  type: number;
  code: number;
  /** Bytes 4-7 as an unsigned 32-bit number. */
  body: number;
  checksum: number;
}

export function parseIcmpv6(view: Icmpv6View, pseudoSum: number): Icmpv6Header | Icmpv6Malformation {
  const reason = view.check(pseudoSum);
  if (reason !== null) return reason;
  return { type: view.type, code: view.code, body: view.body, checksum: view.checksum };
}

export function icmpv6HeaderLength(_header?: Icmpv6Header): number {
  return ICMPV6_HEADER_LENGTH;
}

/**
 * Writes the 8-byte header at `bytes[offset]` and the checksum over it, the `payloadLength` bytes after
 * it, and the pseudo-header sum `pseudoSum` (for length 8 + payloadLength); returns 8.
 */
export function emitIcmpv6(
  header: Icmpv6Header,
  bytes: Uint8Array,
  offset: number,
  payloadLength: number,
  pseudoSum: number,
): number {
  writeIcmpv6Header(bytes, offset, header.type, header.code, header.body, payloadLength, pseudoSum);
  return ICMPV6_HEADER_LENGTH;
}

/**
 * Writes type, code and the 32-bit body at `bytes[offset]`, then the checksum over those 8 bytes, the
 * `payloadLength` bytes already behind them and the pseudo-header sum.
 */
export function writeIcmpv6Header(
  bytes: Uint8Array,
  offset: number,
  type: number,
  code: number,
  body: number,
  payloadLength: number,
  pseudoSum: number,
): void {
  bytes[offset] = type;
  bytes[offset + 1] = code;
  bytes[offset + 2] = 0;
  bytes[offset + 3] = 0;
  bytes[offset + 4] = body >>> 24;
  bytes[offset + 5] = body >>> 16;
  bytes[offset + 6] = body >>> 8;
  bytes[offset + 7] = body;
  const sum = internetChecksum(bytes, offset, ICMPV6_HEADER_LENGTH + payloadLength, pseudoSum);
  bytes[offset + 2] = sum >>> 8;
  bytes[offset + 3] = sum;
}

/**
 * Whether Linux's icmp6_send would send error `type` about the IPv6 packet at
 * `bytes[offset .. offset+length)`: it needs the 40-byte header; never to an unspecified or multicast
 * source; about a packet sent to a multicast destination only Packet Too Big; never about an ICMPv6
 * error message (is_ineligible, which looks past Hop-by-Hop, Routing, Destination Options, AH and a
 * first Fragment header). Rate limiting is the caller's.
 */
export function icmpv6ErrorPermitted(bytes: Uint8Array, offset: number, length: number, type: number): boolean {
  if (length < IPV6_HEADER_LENGTH || offset + length > bytes.length || bytes[offset] >> 4 !== 6) return false;
  if (isUnspecifiedIpv6(bytes, offset + 8) || isMulticastIpv6(bytes, offset + 8)) return false;
  if (isMulticastIpv6(bytes, offset + 24) && type !== ICMPV6_PACKET_TOO_BIG) return false;
  let next = bytes[offset + 6];
  let at = offset + IPV6_HEADER_LENGTH;
  const end = offset + length;
  // Extension headers, at most a handful; each has its next header in byte 0.
  for (let hops = 0; hops < 16; hops++) {
    if (next === IPPROTO_ICMPV6) {
      if (at >= end) return true; // type unreadable: Linux treats it as eligible
      return bytes[at] >= 128;
    }
    if (next === IPPROTO_HOPOPTS || next === IPPROTO_ROUTING || next === IPPROTO_DSTOPTS) {
      if (at + 2 > end) return true;
      const skip = (bytes[at + 1] + 1) * 8;
      next = bytes[at];
      at += skip;
    } else if (next === IPPROTO_AH) {
      if (at + 2 > end) return true;
      const skip = (bytes[at + 1] + 2) * 4;
      next = bytes[at];
      at += skip;
    } else if (next === IPPROTO_FRAGMENT) {
      if (at + 8 > end) return true;
      if ((((bytes[at + 2] << 8) | bytes[at + 3]) & 0xfff8) !== 0) return true; // not the first fragment
      next = bytes[at];
      at += 8;
    } else {
      return true;
    }
  }
  return true;
}

/**
 * Writes a complete IPv6 + ICMPv6 error into `out[outOffset..]` and returns its length (at most 1280).
 *
 * - `type`/`code`: 2/0 Packet Too Big (`info` = MTU), 1/code destination unreachable (4 = port,
 *   3 = address), 3/0 hop limit exceeded. `info` is the 32-bit message body (0 when unused).
 * - `src`, `dst`: 16-byte addresses read at `src[srcOffset]` and `dst[dstOffset]` (usually our address
 *   and the quoted packet's source, which may be read straight from the quote).
 * - The quote is `quote[quoteOffset .. +quoteLength)` from its IPv6 header on, cut so the whole error fits
 *   in the minimum MTU of 1280 bytes (RFC 4443 2.4(c)): at most 1232 quoted bytes.
 * - Outer header: traffic class 0, `flowLabel` (Linux picks one per flow; 0 by default), `hopLimit` 64.
 *
 * `out` must have room for 48 + min(quoteLength, 1232) bytes; it must not overlap the addresses.
 */
export function buildIcmpv6Error(
  out: Uint8Array,
  outOffset: number,
  type: number,
  code: number,
  info: number,
  src: Uint8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  quote: Uint8Array,
  quoteOffset: number,
  quoteLength: number,
  hopLimit = 64,
  flowLabel = 0,
): number {
  const room = IPV6_MIN_MTU - IPV6_HEADER_LENGTH - ICMPV6_HEADER_LENGTH;
  let quoted = quoteLength < room ? quoteLength : room;
  if (quoted > quote.length - quoteOffset) quoted = Math.max(0, quote.length - quoteOffset);
  const icmpLength = ICMPV6_HEADER_LENGTH + quoted;
  const icmpOffset = outOffset + IPV6_HEADER_LENGTH;
  if (quote === out) out.copyWithin(icmpOffset + ICMPV6_HEADER_LENGTH, quoteOffset, quoteOffset + quoted);
  else out.set(quote.subarray(quoteOffset, quoteOffset + quoted), icmpOffset + ICMPV6_HEADER_LENGTH);
  writeIpv6Header(out, outOffset, 0, flowLabel, icmpLength, IPPROTO_ICMPV6, hopLimit, src, srcOffset, dst, dstOffset);
  const pseudo = ipv6PseudoHeaderSum(out, outOffset + 8, out, outOffset + 24, icmpLength, IPPROTO_ICMPV6);
  writeIcmpv6Header(out, icmpOffset, type, code, info, quoted, pseudo);
  return IPV6_HEADER_LENGTH + icmpLength;
}
