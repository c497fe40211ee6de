/**
 * ICMP for IPv4 (RFC 792): the 8-byte header, and a builder for the error messages a tunnel sends
 * (destination unreachable including fragmentation needed with the next-hop MTU of RFC 1191, and time
 * exceeded), laid out as Linux's icmp_send lays them out.
 *
 * ```
 * |     Type      |     Code      |          Checksum             |
 * |                     Rest of header (4 bytes)                  |   echo: id, seq; frag needed: 0, MTU
 * |                     Data ...                                  |
 * ```
 * The checksum covers the whole ICMP message, so a view's length must be the message's length (the IPv4
 * payload length), not the rest of the buffer.
 */
import { internetChecksum } from './checksum.js';
import { isBroadcastIpv4, isLoopbackIpv4, isMulticastIpv4, isZeronetIpv4 } from './address.js';
import { IPV4_HEADER_LENGTH, writeIpv4Header } from './ipv4.js';
import { IPPROTO_ICMP } from './numbers.js';
import { WireView } from './view.js';

export const ICMP_HEADER_LENGTH = 8;
/** RFC 1812 4.3.2.3 / Linux icmp_send: an ICMP error, IPv4 header included, stays within 576 bytes. */
export const ICMP_ERROR_MAX_LENGTH = 576;
/** TOS of an error: precedence "internetwork control" plus the offending packet's TOS bits (icmp_send). */
const IPTOS_PREC_INTERNETCONTROL = 0xc0;
const IPTOS_TOS_MASK = 0x1e;

/** `truncated`: fewer than 8 bytes. `bad-checksum`: the message's checksum does not verify. */
export type IcmpMalformation = 'truncated' | 'bad-checksum';


/** A view of an ICMP message at `bytes[offset .. offset+length)`; getters valid after `check()`. */
export class IcmpView extends WireView {
  check(): IcmpMalformation | null {
    if (!this.holds(ICMP_HEADER_LENGTH)) return 'truncated';
    if (internetChecksum(this.bytes, this.offset, this.length) !== 0) return 'bad-checksum';
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
  /** Bytes 4-7 as one unsigned 32-bit number. */
  get restOfHeader(): number {
    const b = this.bytes;
    const o = this.offset;
    return ((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0;
  }
  /** Echo request/reply identifier. */
  get echoId(): number {
    return (this.bytes[this.offset + 4] << 8) | this.bytes[this.offset + 5];
  }
  /** Echo request/reply sequence number. */
  get echoSequence(): number {
    return (this.bytes[this.offset + 6] << 8) | this.bytes[this.offset + 7];
  }
  /** Next-hop MTU of a fragmentation-needed message (RFC 1191: bytes 6-7). */
  get nextHopMtu(): number {
    return (this.bytes[this.offset + 6] << 8) | this.bytes[this.offset + 7];
  }
  /** Where the data starts, in `bytes`: the quoted packet of an error, the payload of an echo. */
  get payloadOffset(): number {
    return this.offset + ICMP_HEADER_LENGTH;
  }
  get payloadLength(): number {
    return this.length - ICMP_HEADER_LENGTH;
  }
  /** Whether this type is an error message (icmp_pointers[].error in Linux). */
  get isError(): boolean {
    return isIcmpErrorType(this.bytes[this.offset]);
  }
}

/** The ICMP header as plain data; `checksum` is what parse found (emit computes its own). */
export interface IcmpHeader {
  type: number;
  code: number;
  /** Bytes 4-7 as an unsigned 32-bit number (echo: id << 16 | seq; frag needed: the MTU). */
  restOfHeader: number;
  checksum: number;
}

export function parseIcmp(view: IcmpView): IcmpHeader | IcmpMalformation {
  const reason = view.check();
  if (reason !== null) return reason;
  return { type: view.type, code: view.code, restOfHeader: view.restOfHeader, checksum: view.checksum };
}

export function icmpHeaderLength(_header?: IcmpHeader): number {
  return ICMP_HEADER_LENGTH;
}

/**
 * Writes the 8-byte header at `bytes[offset]` and the checksum over it and the `payloadLength` bytes
 * that must already follow it; returns 8. `header.checksum` is not used.
 */
export function emitIcmp(header: IcmpHeader, bytes: Uint8Array, offset: number, payloadLength: number): number {
  writeIcmpHeader(bytes, offset, header.type, header.code, header.restOfHeader, payloadLength);
  return ICMP_HEADER_LENGTH;
}

/**
 * Writes type, code and the 32-bit rest of header at `bytes[offset]`, then the checksum over those 8
 * bytes and the `payloadLength` bytes already behind them.
 */
export function writeIcmpHeader(
  bytes: Uint8Array,
  offset: number,
  type: number,
  code: number,
  restOfHeader: number,
  payloadLength: number,
): void {
  bytes[offset] = type;
  bytes[offset + 1] = code;
  bytes[offset + 2] = 0;
  bytes[offset + 3] = 0;
  bytes[offset + 4] = restOfHeader >>> 24;
  bytes[offset + 5] = restOfHeader >>> 16;
  bytes[offset + 6] = restOfHeader >>> 8;
  bytes[offset + 7] = restOfHeader;
  const sum = internetChecksum(bytes, offset, ICMP_HEADER_LENGTH + payloadLength);
  bytes[offset + 2] = sum >>> 8;
  bytes[offset + 3] = sum;
}

/** Error types of Linux's icmp_pointers table: 3, 4, 5, 11, 12. */
export function isIcmpErrorType(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** The highest type Linux knows (NR_ICMP_TYPES); it sends no error about an ICMP message above it. */
const NR_ICMP_TYPES = 18;

/**
 * Whether Linux's icmp_send would answer this packet (at `bytes[offset .. offset+length)`) with an
 * error at all: it needs a readable IPv4 header; never for a non-first fragment; never about an ICMP
 * error (or an ICMP type it does not know); never to a source that is not a unicast host address
 * (0/8, 127/8, multicast, broadcast), nor about a packet sent to a multicast or broadcast destination.
 * Rate limiting is the caller's.
 */
export function icmpErrorPermitted(bytes: Uint8Array, offset: number, length: number): boolean {
  if (length < IPV4_HEADER_LENGTH || offset + length > bytes.length || bytes[offset] >> 4 !== 4) return false;
  const headerLength = (bytes[offset] & 0x0f) << 2;
  if (headerLength < IPV4_HEADER_LENGTH || headerLength > length) return false;
  if ((((bytes[offset + 6] << 8) | bytes[offset + 7]) & 0x1fff) !== 0) return false;
  const src = ((bytes[offset + 12] << 24) | (bytes[offset + 13] << 16) | (bytes[offset + 14] << 8) | bytes[offset + 15]) >>> 0;
  const dst = ((bytes[offset + 16] << 24) | (bytes[offset + 17] << 16) | (bytes[offset + 18] << 8) | bytes[offset + 19]) >>> 0;
  if (isZeronetIpv4(src) || isLoopbackIpv4(src) || isMulticastIpv4(src) || isBroadcastIpv4(src)) return false;
  if (isMulticastIpv4(dst) || isBroadcastIpv4(dst)) return false;
  if (bytes[offset + 9] === IPPROTO_ICMP) {
    if (headerLength >= length) return false; // the type cannot be read: Linux gives up too
    const type = bytes[offset + headerLength];
    if (type > NR_ICMP_TYPES || isIcmpErrorType(type)) return false;
  }
  return true;
}

/**
 * Writes a complete IPv4 + ICMP error into `out[outOffset..]` and returns its length (at most 576).
 *
 * - `type`/`code`: for example 3/4 (frag needed), 3/3 (port unreachable), 3/1 (host), 11/0 (TTL).
 * - `info`: the 32-bit rest of header; for frag needed the next-hop MTU (lands in bytes 6-7), else 0.
 * - `src`: our address, the error's source; `dst`: where it goes (normally the quoted packet's source).
 * - The quote is `quote[quoteOffset .. +quoteLength)` from its IPv4 header on, cut so the whole error
 *   fits in 576 bytes (548 quoted bytes at most), as icmp_send does.
 * - Outer header as Linux sends it: TOS = the quoted TOS bits | 0xc0, DF clear, `ttl` (64 by default,
 *   ip_default_ttl), `id` chosen by the caller. No options.
 *
 * `out` must have room for 28 + min(quoteLength, 548) bytes from `outOffset`.
 */
export function buildIcmpError(
  out: Uint8Array,
  outOffset: number,
  type: number,
  code: number,
  info: number,
  src: number,
  dst: number,
  quote: Uint8Array,
  quoteOffset: number,
  quoteLength: number,
  id: number,
  ttl = 64,
): number {
  const room = ICMP_ERROR_MAX_LENGTH - IPV4_HEADER_LENGTH - ICMP_HEADER_LENGTH;
  let quoted = quoteLength < room ? quoteLength : room;
  if (quoted > quote.length - quoteOffset) quoted = Math.max(0, quote.length - quoteOffset);
  const total = IPV4_HEADER_LENGTH + ICMP_HEADER_LENGTH + quoted;
  const tos = quoted >= 2 ? (quote[quoteOffset + 1] & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL : IPTOS_PREC_INTERNETCONTROL;
  const icmpOffset = outOffset + IPV4_HEADER_LENGTH;
  // The quote is copied before the headers are written, so it may sit in `out` itself, even where the
  // error goes (copyWithin and set both move overlapping ranges correctly).
  if (quote === out) out.copyWithin(icmpOffset + ICMP_HEADER_LENGTH, quoteOffset, quoteOffset + quoted);
  else out.set(quote.subarray(quoteOffset, quoteOffset + quoted), icmpOffset + ICMP_HEADER_LENGTH);
  writeIpv4Header(out, outOffset, tos, total, id, false, ttl, IPPROTO_ICMP, src, dst);
  writeIcmpHeader(out, icmpOffset, type, code, info, quoted);
  return total;
}
