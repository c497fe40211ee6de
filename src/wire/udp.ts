/**
 * UDP (RFC 768): the carrier of VXLAN.
 *
 * ```
 * |          Source Port          |       Destination Port        |
 * |            Length             |           Checksum            |
 * ```
 * The checksum covers a pseudo-header (checksum.ts) and the datagram as long as its length field says.
 * Over IPv4 a zero checksum means "none"; a computed zero is sent as 0xffff.
 */
import { internetChecksum } from './checksum.js';
import { WireView } from './view.js';

export const UDP_HEADER_LENGTH = 8;

/**
 * Why a UDP header is refused (__udp4_lib_rcv):
 * - `truncated`: fewer than 8 bytes, or fewer than the length field says;
 * - `bad-length`: a length field below 8;
 * - `bad-checksum`: a pseudo-header sum was given, the checksum is not zero, and it does not verify.
 */
export type UdpMalformation = 'truncated' | 'bad-length' | 'bad-checksum';


/**
 * A view of a UDP datagram at `bytes[offset .. offset+length)`; bytes past the length field are allowed
 * and ignored. `payloadOffset` indexes `bytes`; `payloadLength` follows the length field.
 */
export class UdpView extends WireView {
  /**
   * Without `pseudoSum` the checksum is not looked at (the caller decides, for example when the kernel
   * already verified it). With it, the checksum must verify unless it is zero; whether zero is
   * acceptable (IPv4 yes, IPv6 only with udp6zerocsumrx) is the caller's rule: test `checksum === 0`.
   */
  check(pseudoSum?: number): UdpMalformation | null {
    const b = this.bytes;
    const o = this.offset;
    if (!this.holds(UDP_HEADER_LENGTH)) return 'truncated';
    const length = (b[o + 4] << 8) | b[o + 5];
    if (length > this.length) return 'truncated';
    if (length < UDP_HEADER_LENGTH) return 'bad-length';
    if (pseudoSum !== undefined && ((b[o + 6] << 8) | b[o + 7]) !== 0) {
      if (internetChecksum(b, o, length, pseudoSum) !== 0) return 'bad-checksum';
    }
    return null;
  }

  get srcPort(): number {
    return (this.bytes[this.offset] << 8) | this.bytes[this.offset + 1];
  }
  get dstPort(): number {
    return (this.bytes[this.offset + 2] << 8) | this.bytes[this.offset + 3];
  }
  /** The length field: header + payload. */
  get udpLength(): number {
    return (this.bytes[this.offset + 4] << 8) | this.bytes[this.offset + 5];
  }
  get checksum(): number {
    return (this.bytes[this.offset + 6] << 8) | this.bytes[this.offset + 7];
  }
  get payloadOffset(): number {
    return this.offset + UDP_HEADER_LENGTH;
  }
  get payloadLength(): number {
    return this.udpLength - UDP_HEADER_LENGTH;
  }
}

/** A UDP header as plain data. `length` is the length field (8 + payload). */
export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
}

export function parseUdp(view: UdpView, pseudoSum?: number): UdpHeader | UdpMalformation {
  const reason = view.check(pseudoSum);
  if (reason !== null) return reason;
  return { srcPort: view.srcPort, dstPort: view.dstPort, length: view.udpLength, checksum: view.checksum };
}

export function udpHeaderLength(_header?: UdpHeader): number {
  return UDP_HEADER_LENGTH;
}

/**
 * Writes the 8-byte header at `bytes[offset]`; returns 8. With `pseudoSum` (for length `header.length`)
 * the checksum is computed over the datagram, whose payload must already be in place, and
 * `header.checksum` is ignored; without it `header.checksum` is written as given (0: no checksum).
 */
export function emitUdp(header: UdpHeader, bytes: Uint8Array, offset: number, pseudoSum?: number): number {
  writeUdpHeader(bytes, offset, header.srcPort, header.dstPort, header.length);
  if (pseudoSum !== undefined) {
    fillUdpChecksum(bytes, offset, pseudoSum);
  } else {
    bytes[offset + 6] = header.checksum >>> 8;
    bytes[offset + 7] = header.checksum;
  }
  return UDP_HEADER_LENGTH;
}

/** Writes ports and length with a zero checksum. */
export function writeUdpHeader(bytes: Uint8Array, offset: number, srcPort: number, dstPort: number, length: number): void {
  bytes[offset] = srcPort >>> 8;
  bytes[offset + 1] = srcPort;
  bytes[offset + 2] = dstPort >>> 8;
  bytes[offset + 3] = dstPort;
  bytes[offset + 4] = length >>> 8;
  bytes[offset + 5] = length;
  bytes[offset + 6] = 0;
  bytes[offset + 7] = 0;
}

/**
 * Computes the checksum over the datagram at `bytes[offset]` (as long as its length field) plus
 * `pseudoSum`, and stores it, 0 sent as 0xffff (RFC 768).
 */
export function fillUdpChecksum(bytes: Uint8Array, offset: number, pseudoSum: number): void {
  bytes[offset + 6] = 0;
  bytes[offset + 7] = 0;
  const length = (bytes[offset + 4] << 8) | bytes[offset + 5];
  let sum = internetChecksum(bytes, offset, length, pseudoSum);
  if (sum === 0) sum = 0xffff;
  bytes[offset + 6] = sum >>> 8;
  bytes[offset + 7] = sum;
}
