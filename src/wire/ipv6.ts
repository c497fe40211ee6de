/**
 * IPv6 fixed header (RFC 8200 section 3). Extension headers are the payload's business: the view
 * exposes the next header and the payload range, nothing more.
 *
 * ```
 * |Version| Traffic Class |           Flow Label                  |
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * |                Source Address (16 bytes)                      |
 * |             Destination Address (16 bytes)                    |
 * ```
 */
import { IPPROTO_HOPOPTS } from './numbers.js';
import { WireView } from './view.js';

export const IPV6_HEADER_LENGTH = 40;
/** The minimum link MTU (RFC 8200 section 5). */
export const IPV6_MIN_MTU = 1280;

/**
 * Why an IPv6 header is refused (ipv6_rcv):
 * - `truncated`: fewer than 40 bytes, or fewer than 40 + payload length;
 * - `bad-version`: the version nibble is not 6;
 * - `bad-payload-length`: payload length 0 with a Hop-by-Hop header, the jumbogram form (RFC 2675),
 *   which a tunnel never carries.
 */
export type Ipv6Malformation = 'truncated' | 'bad-version' | 'bad-payload-length';


/**
 * A view of an IPv6 packet at `bytes[offset .. offset+length)`; bytes past 40 + payload length are
 * allowed and ignored. Getters are valid after `check()` returned null. `srcOffset`, `dstOffset` and
 * `payloadOffset` index `bytes`, so addresses are read in place without a copy.
 */
export class Ipv6View extends WireView {
  check(): Ipv6Malformation | null {
    const b = this.bytes;
    const o = this.offset;
    const length = this.length;
    if (!this.holds(IPV6_HEADER_LENGTH)) return 'truncated';
    if (b[o] >> 4 !== 6) return 'bad-version';
    const payloadLength = (b[o + 4] << 8) | b[o + 5];
    if (IPV6_HEADER_LENGTH + payloadLength > length) return 'truncated';
    if (payloadLength === 0 && b[o + 6] === IPPROTO_HOPOPTS) return 'bad-payload-length';
    return null;
  }

  get version(): number {
    return this.bytes[this.offset] >> 4;
  }
  get trafficClass(): number {
    return ((this.bytes[this.offset] & 0x0f) << 4) | (this.bytes[this.offset + 1] >> 4);
  }
  /** Also rewrites the version nibble (to 6), which shares the first byte. */
  set trafficClass(value: number) {
    const b = this.bytes;
    const o = this.offset;
    b[o] = 0x60 | ((value >> 4) & 0x0f);
    b[o + 1] = ((value & 0x0f) << 4) | (b[o + 1] & 0x0f);
  }
  get dscp(): number {
    return this.trafficClass >> 2;
  }
  get ecn(): number {
    return (this.bytes[this.offset + 1] >> 4) & 0x03;
  }
  get flowLabel(): number {
    const b = this.bytes;
    const o = this.offset;
    return ((b[o + 1] & 0x0f) << 16) | (b[o + 2] << 8) | b[o + 3];
  }
  set flowLabel(value: number) {
    const b = this.bytes;
    const o = this.offset;
    b[o + 1] = (b[o + 1] & 0xf0) | ((value >>> 16) & 0x0f);
    b[o + 2] = value >>> 8;
    b[o + 3] = value;
  }
  get payloadLength(): number {
    return (this.bytes[this.offset + 4] << 8) | this.bytes[this.offset + 5];
  }
  set payloadLength(value: number) {
    this.bytes[this.offset + 4] = value >>> 8;
    this.bytes[this.offset + 5] = value;
  }
  get nextHeader(): number {
    return this.bytes[this.offset + 6];
  }
  set nextHeader(value: number) {
    this.bytes[this.offset + 6] = value;
  }
  get hopLimit(): number {
    return this.bytes[this.offset + 7];
  }
  set hopLimit(value: number) {
    this.bytes[this.offset + 7] = value;
  }
  /** Where the source address starts, in `bytes`. */
  get srcOffset(): number {
    return this.offset + 8;
  }
  /** Where the destination address starts, in `bytes`. */
  get dstOffset(): number {
    return this.offset + 24;
  }
  /** A copy of the source address (allocates; the hot path uses `srcOffset`). */
  get src(): Uint8Array {
    return this.bytes.slice(this.offset + 8, this.offset + 24);
  }
  get dst(): Uint8Array {
    return this.bytes.slice(this.offset + 24, this.offset + 40);
  }
  get payloadOffset(): number {
    return this.offset + IPV6_HEADER_LENGTH;
  }
}

/** An IPv6 fixed header as plain data. Addresses are 16-byte arrays. */
export interface Ipv6Header {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: Uint8Array;
  dst: Uint8Array;
}

export function parseIpv6Header(view: Ipv6View): Ipv6Header | Ipv6Malformation {
  const reason = view.check();
  if (reason !== null) return reason;
  return {
    trafficClass: view.trafficClass,
    flowLabel: view.flowLabel,
    payloadLength: view.payloadLength,
    nextHeader: view.nextHeader,
    hopLimit: view.hopLimit,
    src: view.src,
    dst: view.dst,
  };
}

/** Always 40: extension headers are not part of this record. */
export function ipv6HeaderLength(_header?: Ipv6Header): number {
  return IPV6_HEADER_LENGTH;
}

/** Writes the 40-byte header at `bytes[offset]`; returns 40. */
export function emitIpv6Header(header: Ipv6Header, bytes: Uint8Array, offset: number): number {
  writeIpv6Header(
    bytes,
    offset,
    header.trafficClass,
    header.flowLabel,
    header.payloadLength,
    header.nextHeader,
    header.hopLimit,
    header.src,
    0,
    header.dst,
    0,
  );
  return IPV6_HEADER_LENGTH;
}

// ---------------------------------------------------------------------------------------------------
// Hot path: no view, no allocation. `Unchecked` readers trust the caller to have seen 40 bytes.

/**
 * Writes the 40-byte header; the addresses are copied from `src[srcOffset..+16)` and
 * `dst[dstOffset..+16)` (which may lie in another packet, for example the inner one).
 */
export function writeIpv6Header(
  bytes: Uint8Array,
  offset: number,
  trafficClass: number,
  flowLabel: number,
  payloadLength: number,
  nextHeader: number,
  hopLimit: number,
  src: Uint8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
): void {
  bytes[offset] = 0x60 | ((trafficClass >> 4) & 0x0f);
  bytes[offset + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  bytes[offset + 2] = flowLabel >>> 8;
  bytes[offset + 3] = flowLabel;
  bytes[offset + 4] = payloadLength >>> 8;
  bytes[offset + 5] = payloadLength;
  bytes[offset + 6] = nextHeader;
  bytes[offset + 7] = hopLimit;
  for (let i = 0; i < 16; i++) {
    bytes[offset + 8 + i] = src[srcOffset + i];
    bytes[offset + 24 + i] = dst[dstOffset + i];
  }
}

export function ipv6TrafficClassUnchecked(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] & 0x0f) << 4) | (bytes[offset + 1] >> 4);
}

export function ipv6FlowLabelUnchecked(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset + 1] & 0x0f) << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3];
}

export function ipv6PayloadLengthUnchecked(bytes: Uint8Array, offset: number): number {
  return (bytes[offset + 4] << 8) | bytes[offset + 5];
}

export function ipv6NextHeaderUnchecked(bytes: Uint8Array, offset: number): number {
  return bytes[offset + 6];
}

export function ipv6HopLimitUnchecked(bytes: Uint8Array, offset: number): number {
  return bytes[offset + 7];
}

/** Decrements the hop limit in place (no checksum in IPv6); 0 stays 0. Returns the new value. */
export function ipv6DecrementHopLimitUnchecked(bytes: Uint8Array, offset: number): number {
  const hop = bytes[offset + 7];
  if (hop === 0) return 0;
  bytes[offset + 7] = hop - 1;
  return hop - 1;
}

/**
 * Marks the packet CE, as IP6_ECN_set_ce does; false (unchanged) for Not-ECT, true otherwise.
 * The ECN bits are bits 4-5 of byte 1.
 */
export function ipv6SetEcnCeUnchecked(bytes: Uint8Array, offset: number): boolean {
  const ecn = (bytes[offset + 1] >> 4) & 0x03;
  if (ecn === 0) return false;
  bytes[offset + 1] |= 0x30;
  return true;
}

/** Turns ECT(0) into ECT(1), as IP6_ECN_set_ect1 does; false (unchanged) for any other ECN value. */
export function ipv6SetEct1Unchecked(bytes: Uint8Array, offset: number): boolean {
  if (((bytes[offset + 1] >> 4) & 0x03) !== 0x02) return false;
  bytes[offset + 1] ^= 0x30;
  return true;
}
