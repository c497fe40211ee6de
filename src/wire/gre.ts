/**
 * GRE (RFC 2784, with the key and sequence number extensions of RFC 2890), as Linux's gre_demux.c
 * parses it and ip_gre.c builds it.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |C|R|K|S| Reserved0       | Ver |         Protocol Type         |
 * |      Checksum (optional)      |       Reserved1 (optional)    |   C
 * |                         Key (optional)                        |   K
 * |                 Sequence Number (optional)                    |   S
 * ```
 * The optional words appear in that order, so the header is 4 + 4 * (C + K + S) bytes long.
 * The checksum is the Internet checksum over the GRE header and the whole payload, with the checksum
 * field taken as zero, so a view's length must be the GRE packet's length (the IP payload length).
 */
import { internetChecksum } from './checksum.js';
import { ETHERTYPE_IPV4, ETHERTYPE_WCCP } from './numbers.js';
import { WireView } from './view.js';

export const GRE_CSUM = 0x8000;
/** Routing present (RFC 1701); RFC 2784 made it reserved, and the kernel drops packets that set it. */
export const GRE_ROUTING = 0x4000;
export const GRE_KEY = 0x2000;
export const GRE_SEQ = 0x1000;
export const GRE_VERSION_MASK = 0x0007;
export const GRE_BASE_HEADER_LENGTH = 4;
export const GRE_MAX_HEADER_LENGTH = 16;

/**
 * Why a GRE header is refused (gre_parse_header):
 * - `truncated`: fewer than 4 bytes, fewer than the flags say, or (WCCP) no room for what follows;
 * - `bad-version`: the version is not 0 (version 1, PPTP's enhanced GRE, is not burrow's);
 * - `routing-set`: the R bit is set;
 * - `bad-checksum`: C is set and the checksum over header and payload does not verify.
 */
export type GreMalformation = 'truncated' | 'bad-version' | 'routing-set' | 'bad-checksum';

/** Header length for a flags word (only C, K and S count). */
export function greHeaderLength(flags: number): number {
  return 4 + ((flags >>> 13) & 4) + ((flags >>> 11) & 4) + ((flags >>> 10) & 4);
}


/**
 * A view of a GRE packet at `bytes[offset .. offset+length)`. After `check()` returned null, every
 * getter is in range, including `payloadOffset`/`payloadLength`, which already account for WCCP.
 * `payloadOffset` indexes `bytes`.
 */
export class GreView extends WireView {
  check(): GreMalformation | null {
    const b = this.bytes;
    const o = this.offset;
    if (!this.holds(GRE_BASE_HEADER_LENGTH)) return 'truncated';
    const flags = (b[o] << 8) | b[o + 1];
    if ((flags & GRE_VERSION_MASK) !== 0) return 'bad-version';
    if ((flags & GRE_ROUTING) !== 0) return 'routing-set';
    const headerLength = greHeaderLength(flags);
    if (headerLength > this.length) return 'truncated';
    if ((flags & GRE_CSUM) !== 0 && internetChecksum(b, o, this.length) !== 0) return 'bad-checksum';
    if (flags === 0 && ((b[o + 2] << 8) | b[o + 3]) === ETHERTYPE_WCCP) {
      // gre_parse_header peeks at the byte after the header to tell WCCPv1 from v2; no byte, no packet.
      if (headerLength >= this.length) return 'truncated';
      if (this.payloadOffset > o + this.length) return 'truncated';
    }
    return null;
  }

  /** The first 16-bit word: C R K S, reserved bits and version. */
  get flags(): number {
    return (this.bytes[this.offset] << 8) | this.bytes[this.offset + 1];
  }
  get checksumPresent(): boolean {
    return (this.bytes[this.offset] & 0x80) !== 0;
  }
  get routingPresent(): boolean {
    return (this.bytes[this.offset] & 0x40) !== 0;
  }
  get keyPresent(): boolean {
    return (this.bytes[this.offset] & 0x20) !== 0;
  }
  get sequencePresent(): boolean {
    return (this.bytes[this.offset] & 0x10) !== 0;
  }
  get version(): number {
    return this.bytes[this.offset + 1] & GRE_VERSION_MASK;
  }
  get protocolType(): number {
    return (this.bytes[this.offset + 2] << 8) | this.bytes[this.offset + 3];
  }
  get headerLength(): number {
    return greHeaderLength((this.bytes[this.offset] << 8) | this.bytes[this.offset + 1]);
  }
  /** The checksum field, or 0 when C is clear. */
  get checksum(): number {
    if ((this.bytes[this.offset] & 0x80) === 0) return 0;
    return (this.bytes[this.offset + 4] << 8) | this.bytes[this.offset + 5];
  }
  /** The key, or 0 when K is clear. */
  get key(): number {
    const b = this.bytes;
    if ((b[this.offset] & 0x20) === 0) return 0;
    const at = this.offset + ((b[this.offset] & 0x80) !== 0 ? 8 : 4);
    return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  }
  /** The sequence number, or 0 when S is clear. */
  get sequence(): number {
    const b = this.bytes;
    const f = b[this.offset];
    if ((f & 0x10) === 0) return 0;
    const at = this.offset + 4 + ((f & 0x80) !== 0 ? 4 : 0) + ((f & 0x20) !== 0 ? 4 : 0);
    return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  }
  /**
   * The protocol of the payload: the protocol type, except that WCCP with no flags is IPv4
   * (gre_parse_header), whatever the header that follows it.
   */
  get payloadProtocol(): number {
    const type = this.protocolType;
    return type === ETHERTYPE_WCCP && this.flags === 0 ? ETHERTYPE_IPV4 : type;
  }
  /**
   * Where the payload starts, in `bytes`. For WCCP with no flags: right after the header for WCCPv1
   * (the next byte is an IPv4 version nibble), 4 bytes later for WCCPv2's redirect header.
   */
  get payloadOffset(): number {
    const b = this.bytes;
    const o = this.offset;
    const flags = (b[o] << 8) | b[o + 1];
    const start = o + greHeaderLength(flags);
    if (flags === 0 && ((b[o + 2] << 8) | b[o + 3]) === ETHERTYPE_WCCP && (b[start] & 0xf0) !== 0x40) return start + 4;
    return start;
  }
  get payloadLength(): number {
    return this.offset + this.length - this.payloadOffset;
  }
}

/**
 * A GRE header as plain data. `key` and `sequence` are 0 when absent; `checksum` is the field parse
 * found (0 when absent). emit ignores `checksum` and computes it. Reserved bits are not kept.
 */
export interface GreHeader {
  checksumPresent: boolean;
  keyPresent: boolean;
  sequencePresent: boolean;
  protocolType: number;
  key: number;
  sequence: number;
  checksum: number;
}

export function parseGre(view: GreView): GreHeader | GreMalformation {
  const reason = view.check();
  if (reason !== null) return reason;
  return {
    checksumPresent: view.checksumPresent,
    keyPresent: view.keyPresent,
    sequencePresent: view.sequencePresent,
    protocolType: view.protocolType,
    key: view.key,
    sequence: view.sequence,
    checksum: view.checksum,
  };
}

/** The flags word a record emits: C, K, S, version 0. */
export function greFlags(header: GreHeader): number {
  return (header.checksumPresent ? GRE_CSUM : 0) | (header.keyPresent ? GRE_KEY : 0) | (header.sequencePresent ? GRE_SEQ : 0);
}

/**
 * Writes every byte of the header at `bytes[offset]` and returns its length.
 *
 * The checksum needs the payload: emit is called after the payload is in place right behind the header,
 * and `payloadLength` says how long it is; with C set the checksum is computed over header + payload.
 * Without C, `payloadLength` is not used.
 */
export function emitGre(header: GreHeader, bytes: Uint8Array, offset: number, payloadLength: number): number {
  const length = writeGreHeader(bytes, offset, greFlags(header), header.protocolType, header.key, header.sequence);
  if (header.checksumPresent) fillGreChecksum(bytes, offset, length + payloadLength);
  return length;
}

// ---------------------------------------------------------------------------------------------------
// Hot path: no record, no allocation.

/**
 * Writes a GRE header from its parts: `flags` is the flags word (GRE_CSUM | GRE_KEY | GRE_SEQ as
 * wanted; other bits are written as given). The checksum field, when present, is written as zero: call
 * `fillGreChecksum` once the payload is behind it. Returns the header length.
 */
export function writeGreHeader(
  bytes: Uint8Array,
  offset: number,
  flags: number,
  protocolType: number,
  key: number,
  sequence: number,
): number {
  bytes[offset] = flags >>> 8;
  bytes[offset + 1] = flags;
  bytes[offset + 2] = protocolType >>> 8;
  bytes[offset + 3] = protocolType;
  let at = offset + 4;
  if ((flags & GRE_CSUM) !== 0) {
    bytes[at] = 0;
    bytes[at + 1] = 0;
    bytes[at + 2] = 0;
    bytes[at + 3] = 0;
    at += 4;
  }
  if ((flags & GRE_KEY) !== 0) {
    bytes[at] = key >>> 24;
    bytes[at + 1] = key >>> 16;
    bytes[at + 2] = key >>> 8;
    bytes[at + 3] = key;
    at += 4;
  }
  if ((flags & GRE_SEQ) !== 0) {
    bytes[at] = sequence >>> 24;
    bytes[at + 1] = sequence >>> 16;
    bytes[at + 2] = sequence >>> 8;
    bytes[at + 3] = sequence;
    at += 4;
  }
  return at - offset;
}

/**
 * Computes the checksum over the GRE packet `bytes[offset .. offset+length)` (header + payload) and
 * stores it; the header must have C set. Reserved1 is set to zero first, as RFC 2784 requires.
 */
export function fillGreChecksum(bytes: Uint8Array, offset: number, length: number): void {
  bytes[offset + 4] = 0;
  bytes[offset + 5] = 0;
  bytes[offset + 6] = 0;
  bytes[offset + 7] = 0;
  const sum = internetChecksum(bytes, offset, length);
  bytes[offset + 4] = sum >>> 8;
  bytes[offset + 5] = sum;
}
