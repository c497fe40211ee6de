/**
 * IPv4 header (RFC 791). The view, the record, parse/emit, and the in-place helpers the tunnel modes
 * call per packet (write an outer header, read or rewrite fields of an inner one) with no view object.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 * |         Identification        |R|D|M|     Fragment Offset     |
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * |                       Source Address                          |
 * |                    Destination Address                        |
 * |                    Options (IHL > 5)                          |
 * ```
 */
import { checksumAdjust, internetChecksum } from './checksum.js';
import { readIpv4, writeIpv4 } from './address.js';
import { WireView } from './view.js';

export const IPV4_HEADER_LENGTH = 20;
export const IPV4_MAX_HEADER_LENGTH = 60;
export const IPV4_MAX_OPTIONS_LENGTH = 40;
/** Flag bits of the 16-bit flags/fragment-offset word. */
export const IPV4_FLAG_RESERVED = 0x8000;
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_FRAGMENT_OFFSET_MASK = 0x1fff;

/**
 * Why an IPv4 header is refused, in the order the kernel's ip_rcv_core tests them:
 * - `truncated`: fewer than 20 bytes, fewer than IHL*4, or fewer than the total length says;
 * - `bad-version`: the version nibble is not 4;
 * - `bad-header-length`: IHL below 5;
 * - `bad-checksum`: the header checksum does not verify;
 * - `bad-total-length`: the total length is below the header length.
 */
export type Ipv4Malformation = 'truncated' | 'bad-version' | 'bad-header-length' | 'bad-checksum' | 'bad-total-length';


/**
 * A view of an IPv4 packet at `bytes[offset .. offset+length)`. `length` is what was received; bytes
 * past the total length (Ethernet padding) are allowed and ignored. Getters are valid once `check()`
 * returned null; before that they may read past the range (as 0s, JavaScript gives no crash).
 * Offsets returned by getters (`optionsOffset`, `payloadOffset`) index `bytes`, not the view.
 */
export class Ipv4View extends WireView {
  /** null when the header can be read safely and verifies; otherwise why not. */
  check(): Ipv4Malformation | null {
    const b = this.bytes;
    const o = this.offset;
    const length = this.length;
    if (!this.holds(IPV4_HEADER_LENGTH)) return 'truncated';
    if (b[o] >> 4 !== 4) return 'bad-version';
    const headerLength = (b[o] & 0x0f) << 2;
    if (headerLength < IPV4_HEADER_LENGTH) return 'bad-header-length';
    if (headerLength > length) return 'truncated';
    if (internetChecksum(b, o, headerLength) !== 0) return 'bad-checksum';
    const totalLength = (b[o + 2] << 8) | b[o + 3];
    if (totalLength > length) return 'truncated';
    if (totalLength < headerLength) return 'bad-total-length';
    return null;
  }

  get version(): number {
    return this.bytes[this.offset] >> 4;
  }
  /** IHL in bytes (IHL * 4). */
  get headerLength(): number {
    return (this.bytes[this.offset] & 0x0f) << 2;
  }
  /** The whole second byte: DSCP and ECN (the kernel's `tos`). */
  get tos(): number {
    return this.bytes[this.offset + 1];
  }
  set tos(value: number) {
    this.bytes[this.offset + 1] = value;
  }
  get dscp(): number {
    return this.bytes[this.offset + 1] >> 2;
  }
  get ecn(): number {
    return this.bytes[this.offset + 1] & 0x03;
  }
  get totalLength(): number {
    return (this.bytes[this.offset + 2] << 8) | this.bytes[this.offset + 3];
  }
  set totalLength(value: number) {
    this.bytes[this.offset + 2] = value >>> 8;
    this.bytes[this.offset + 3] = value;
  }
  get id(): number {
    return (this.bytes[this.offset + 4] << 8) | this.bytes[this.offset + 5];
  }
  set id(value: number) {
    this.bytes[this.offset + 4] = value >>> 8;
    this.bytes[this.offset + 5] = value;
  }
  /** The flags and fragment offset word as on the wire. */
  get flagsAndFragmentOffset(): number {
    return (this.bytes[this.offset + 6] << 8) | this.bytes[this.offset + 7];
  }
  /** The reserved ("evil") bit; the kernel ignores it and so do parse and check. */
  get reservedFlag(): boolean {
    return (this.bytes[this.offset + 6] & 0x80) !== 0;
  }
  get dontFragment(): boolean {
    return (this.bytes[this.offset + 6] & 0x40) !== 0;
  }
  get moreFragments(): boolean {
    return (this.bytes[this.offset + 6] & 0x20) !== 0;
  }
  /** Fragment offset in bytes (the field is in 8-byte units). */
  get fragmentOffset(): number {
    return (((this.bytes[this.offset + 6] & 0x1f) << 8) | this.bytes[this.offset + 7]) << 3;
  }
  /** True for any fragment: MF set or a non-zero offset. */
  get isFragment(): boolean {
    return ((((this.bytes[this.offset + 6] << 8) | this.bytes[this.offset + 7]) & 0x3fff) !== 0);
  }
  get ttl(): number {
    return this.bytes[this.offset + 8];
  }
  set ttl(value: number) {
    this.bytes[this.offset + 8] = value;
  }
  get protocol(): number {
    return this.bytes[this.offset + 9];
  }
  set protocol(value: number) {
    this.bytes[this.offset + 9] = value;
  }
  get checksum(): number {
    return (this.bytes[this.offset + 10] << 8) | this.bytes[this.offset + 11];
  }
  set checksum(value: number) {
    this.bytes[this.offset + 10] = value >>> 8;
    this.bytes[this.offset + 11] = value;
  }
  get src(): number {
    return readIpv4(this.bytes, this.offset + 12);
  }
  set src(value: number) {
    writeIpv4(this.bytes, this.offset + 12, value);
  }
  get dst(): number {
    return readIpv4(this.bytes, this.offset + 16);
  }
  set dst(value: number) {
    writeIpv4(this.bytes, this.offset + 16, value);
  }
  /** Where options start, in `bytes`. */
  get optionsOffset(): number {
    return this.offset + IPV4_HEADER_LENGTH;
  }
  get optionsLength(): number {
    return ((this.bytes[this.offset] & 0x0f) << 2) - IPV4_HEADER_LENGTH;
  }
  /** Where the payload starts, in `bytes`. */
  get payloadOffset(): number {
    return this.offset + ((this.bytes[this.offset] & 0x0f) << 2);
  }
  /** Total length minus header length: trailing padding is not payload. */
  get payloadLength(): number {
    return this.totalLength - ((this.bytes[this.offset] & 0x0f) << 2);
  }
  /** Recomputes and stores the header checksum after setters changed the header. */
  fillChecksum(): void {
    const b = this.bytes;
    const o = this.offset;
    b[o + 10] = 0;
    b[o + 11] = 0;
    const sum = internetChecksum(b, o, (b[o] & 0x0f) << 2);
    b[o + 10] = sum >>> 8;
    b[o + 11] = sum;
  }
}

/** An IPv4 header as plain data. `fragmentOffset` is in bytes (a multiple of 8). */
export interface Ipv4Header {
  tos: number;
  totalLength: number;
  id: number;
  dontFragment: boolean;
  moreFragments: boolean;
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
  /** Raw option bytes, a multiple of 4 long and at most 40 (emit pads a shorter tail with zeros). */
  options: Uint8Array;
}

/** Checks the view and copies its header into a record (options copied too); or the malformation. */
export function parseIpv4Header(view: Ipv4View): Ipv4Header | Ipv4Malformation {
  const reason = view.check();
  if (reason !== null) return reason;
  const optionsOffset = view.optionsOffset;
  return {
    tos: view.tos,
    totalLength: view.totalLength,
    id: view.id,
    dontFragment: view.dontFragment,
    moreFragments: view.moreFragments,
    fragmentOffset: view.fragmentOffset,
    ttl: view.ttl,
    protocol: view.protocol,
    src: view.src,
    dst: view.dst,
    options: view.bytes.slice(optionsOffset, optionsOffset + view.optionsLength),
  };
}

/** Header length `emitIpv4Header` writes: 20 plus the options rounded up to 4 bytes. */
export function ipv4HeaderLength(header: Ipv4Header): number {
  return IPV4_HEADER_LENGTH + ((header.options.length + 3) & ~3);
}

/**
 * Writes every byte of the header, checksum included, at `bytes[offset]`; returns the header length.
 * The reserved flag is written as 0. Options longer than 40 bytes are a caller bug (RangeError).
 */
export function emitIpv4Header(header: Ipv4Header, bytes: Uint8Array, offset: number): number {
  const optionsLength = (header.options.length + 3) & ~3;
  if (optionsLength > IPV4_MAX_OPTIONS_LENGTH) throw new RangeError(`IPv4 options too long: ${header.options.length}`);
  const headerLength = IPV4_HEADER_LENGTH + optionsLength;
  const o = offset;
  bytes[o] = 0x40 | (headerLength >> 2);
  bytes[o + 1] = header.tos;
  bytes[o + 2] = header.totalLength >>> 8;
  bytes[o + 3] = header.totalLength;
  bytes[o + 4] = header.id >>> 8;
  bytes[o + 5] = header.id;
  const word =
    (header.dontFragment ? IPV4_FLAG_DF : 0) |
    (header.moreFragments ? IPV4_FLAG_MF : 0) |
    ((header.fragmentOffset >>> 3) & IPV4_FRAGMENT_OFFSET_MASK);
  bytes[o + 6] = word >>> 8;
  bytes[o + 7] = word;
  bytes[o + 8] = header.ttl;
  bytes[o + 9] = header.protocol;
  bytes[o + 10] = 0;
  bytes[o + 11] = 0;
  writeIpv4(bytes, o + 12, header.src);
  writeIpv4(bytes, o + 16, header.dst);
  bytes.set(header.options, o + IPV4_HEADER_LENGTH);
  bytes.fill(0, o + IPV4_HEADER_LENGTH + header.options.length, o + headerLength);
  const sum = internetChecksum(bytes, o, headerLength);
  bytes[o + 10] = sum >>> 8;
  bytes[o + 11] = sum;
  return headerLength;
}

// ---------------------------------------------------------------------------------------------------
// Hot path: no view, no allocation. The `Unchecked` readers trust the caller to have seen at least
// 20 bytes of an IPv4 packet at `offset` (see conventions.md on the suffix).

/**
 * Writes a 20-byte header without options, checksum included: version 4, IHL 5, fragment offset 0,
 * MF clear. The checksum is summed from the arguments, not read back from memory.
 */
export function writeIpv4Header(
  bytes: Uint8Array,
  offset: number,
  tos: number,
  totalLength: number,
  id: number,
  df: boolean,
  ttl: number,
  protocol: number,
  src: number,
  dst: number,
): void {
  const flags = df ? IPV4_FLAG_DF : 0;
  let sum =
    (0x4500 | (tos & 0xff)) +
    (totalLength & 0xffff) +
    (id & 0xffff) +
    flags +
    (((ttl & 0xff) << 8) | (protocol & 0xff)) +
    (src >>> 16) +
    (src & 0xffff) +
    (dst >>> 16) +
    (dst & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = ~sum & 0xffff;
  bytes[offset] = 0x45;
  bytes[offset + 1] = tos;
  bytes[offset + 2] = totalLength >>> 8;
  bytes[offset + 3] = totalLength;
  bytes[offset + 4] = id >>> 8;
  bytes[offset + 5] = id;
  bytes[offset + 6] = flags >>> 8;
  bytes[offset + 7] = 0;
  bytes[offset + 8] = ttl;
  bytes[offset + 9] = protocol;
  bytes[offset + 10] = sum >>> 8;
  bytes[offset + 11] = sum;
  bytes[offset + 12] = src >>> 24;
  bytes[offset + 13] = src >>> 16;
  bytes[offset + 14] = src >>> 8;
  bytes[offset + 15] = src;
  bytes[offset + 16] = dst >>> 24;
  bytes[offset + 17] = dst >>> 16;
  bytes[offset + 18] = dst >>> 8;
  bytes[offset + 19] = dst;
}

/** Recomputes the header checksum of the `headerLength`-byte header at `offset` after a field changed. */
export function ipv4RefreshChecksumUnchecked(bytes: Uint8Array, offset: number, headerLength: number): void {
  bytes[offset + 10] = 0;
  bytes[offset + 11] = 0;
  const sum = internetChecksum(bytes, offset, headerLength);
  bytes[offset + 10] = sum >>> 8;
  bytes[offset + 11] = sum;
}

/** The version nibble of any IP packet (4 or 6 for the ones burrow carries). */
export function ipVersionUnchecked(bytes: Uint8Array, offset: number): number {
  return bytes[offset] >> 4;
}

export function ipv4HeaderLengthUnchecked(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] & 0x0f) << 2;
}

export function ipv4TosUnchecked(bytes: Uint8Array, offset: number): number {
  return bytes[offset + 1];
}

export function ipv4TotalLengthUnchecked(bytes: Uint8Array, offset: number): number {
  return (bytes[offset + 2] << 8) | bytes[offset + 3];
}

export function ipv4DfUnchecked(bytes: Uint8Array, offset: number): boolean {
  return (bytes[offset + 6] & 0x40) !== 0;
}

export function ipv4TtlUnchecked(bytes: Uint8Array, offset: number): number {
  return bytes[offset + 8];
}

export function ipv4ProtocolUnchecked(bytes: Uint8Array, offset: number): number {
  return bytes[offset + 9];
}

export function ipv4SrcUnchecked(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset + 12] << 24) | (bytes[offset + 13] << 16) | (bytes[offset + 14] << 8) | bytes[offset + 15]) >>> 0;
}

export function ipv4DstUnchecked(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset + 16] << 24) | (bytes[offset + 17] << 16) | (bytes[offset + 18] << 8) | bytes[offset + 19]) >>> 0;
}

/**
 * Decrements the TTL in place and patches the checksum (RFC 1624), as ip_decrease_ttl does; returns
 * the new TTL. A TTL of 0 is left alone (returns 0): the caller sends time exceeded for TTL <= 1 first.
 */
export function ipv4DecrementTtlUnchecked(bytes: Uint8Array, offset: number): number {
  const ttl = bytes[offset + 8];
  if (ttl === 0) return 0;
  const word = (ttl << 8) | bytes[offset + 9];
  bytes[offset + 8] = ttl - 1;
  patchChecksum(bytes, offset, word, word - 0x100);
  return ttl - 1;
}

/**
 * Marks the packet CE (ECN 11) and patches the checksum, as IP_ECN_set_ce does for RFC 6040
 * decapsulation. A Not-ECT packet cannot carry CE: it is left unchanged and false is returned
 * (the caller drops it); ECT(0), ECT(1) and CE give true.
 */
export function ipv4SetEcnCeUnchecked(bytes: Uint8Array, offset: number): boolean {
  const tos = bytes[offset + 1];
  const ecn = tos & 0x03;
  if (ecn === 0) return false;
  if (ecn === 3) return true;
  const word = (bytes[offset] << 8) | tos;
  bytes[offset + 1] = tos | 0x03;
  patchChecksum(bytes, offset, word, word | 0x03);
  return true;
}

/** Turns ECT(0) into ECT(1) and patches the checksum, as IP_ECN_set_ect1 does; false for any other ECN. */
export function ipv4SetEct1Unchecked(bytes: Uint8Array, offset: number): boolean {
  const tos = bytes[offset + 1];
  if ((tos & 0x03) !== 0x02) return false;
  const word = (bytes[offset] << 8) | tos;
  bytes[offset + 1] = tos ^ 0x03;
  patchChecksum(bytes, offset, word, word ^ 0x03);
  return true;
}

/** Replaces the TOS byte and patches the checksum. */
export function ipv4SetTosUnchecked(bytes: Uint8Array, offset: number, tos: number): void {
  const word = (bytes[offset] << 8) | bytes[offset + 1];
  bytes[offset + 1] = tos;
  patchChecksum(bytes, offset, word, (word & 0xff00) | (tos & 0xff));
}

function patchChecksum(bytes: Uint8Array, offset: number, oldWord: number, newWord: number): void {
  const sum = checksumAdjust((bytes[offset + 10] << 8) | bytes[offset + 11], oldWord, newWord);
  bytes[offset + 10] = sum >>> 8;
  bytes[offset + 11] = sum;
}

/**
 * Turns the 20-byte header at `offset` (no options) into a fragment's: total length, ID, MF and the
 * fragment offset in bytes (a multiple of 8), DF cleared, checksum recomputed. For the sender that
 * fragments itself (a raw socket never does it: raw(7)).
 */
export function ipv4SetFragmentUnchecked(
  bytes: Uint8Array,
  offset: number,
  totalLength: number,
  id: number,
  moreFragments: boolean,
  fragmentOffset: number,
): void {
  const word = (moreFragments ? IPV4_FLAG_MF : 0) | ((fragmentOffset >>> 3) & IPV4_FRAGMENT_OFFSET_MASK);
  ipv4SetFragmentFieldsUnchecked(bytes, offset, IPV4_HEADER_LENGTH, totalLength, id, word);
}

/**
 * Writes a fragment header's total length, ID and flags/offset word (`word`, as it goes on the wire)
 * into the `headerLength`-byte header at `offset`, and recomputes its checksum.
 */
export function ipv4SetFragmentFieldsUnchecked(
  bytes: Uint8Array,
  offset: number,
  headerLength: number,
  totalLength: number,
  id: number,
  word: number,
): void {
  bytes[offset + 2] = totalLength >>> 8;
  bytes[offset + 3] = totalLength;
  bytes[offset + 4] = id >>> 8;
  bytes[offset + 5] = id;
  bytes[offset + 6] = word >>> 8;
  bytes[offset + 7] = word;
  bytes[offset + 10] = 0;
  bytes[offset + 11] = 0;
  const sum = internetChecksum(bytes, offset, headerLength);
  bytes[offset + 10] = sum >>> 8;
  bytes[offset + 11] = sum;
}
