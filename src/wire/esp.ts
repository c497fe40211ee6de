/**
 * ESP, the IPsec Encapsulating Security Payload (RFC 4303), IP protocol 50: the header and trailer
 * layout. What is inside is ciphertext; src/xfrm/ does the cryptography.
 *
 *   0       4        8            8+iv
 *   | SPI   | Seq#   | IV (iv bytes) | encrypted: payload, padding, pad length (1), next header (1) | ICV (icv bytes) |
 *
 * The IV and ICV lengths belong to the security association's algorithms, so the view takes them as
 * arguments. After decryption the trailer is read from the end of the plaintext (`espTrailer`).
 */
import { WireView } from './view.js';

export const IPPROTO_ESP = 50;
export const ESP_HEADER_LENGTH = 8;

export type EspMalformation = 'truncated';

export interface EspHeader {
  spi: number;
  sequence: number;
}

export class EspView extends WireView {
  private ivLength = 0;
  private icvLength = 0;

  /** The algorithm lengths of the SA the packet belongs to; check() then knows what must fit. */
  setLengths(ivLength: number, icvLength: number): this {
    this.ivLength = ivLength;
    this.icvLength = icvLength;
    return this;
  }

  /** Header, IV, at least the two trailer bytes and the ICV must fit. */
  check(): EspMalformation | null {
    return this.holds(ESP_HEADER_LENGTH + this.ivLength + 2 + this.icvLength) ? null : 'truncated';
  }

  get spi(): number {
    return this.u32(0);
  }

  get sequence(): number {
    return this.u32(4);
  }

  get ivOffset(): number {
    return this.offset + ESP_HEADER_LENGTH;
  }

  /** Where the ciphertext starts (after the IV). */
  get cipherOffset(): number {
    return this.offset + ESP_HEADER_LENGTH + this.ivLength;
  }

  get cipherLength(): number {
    return this.length - ESP_HEADER_LENGTH - this.ivLength - this.icvLength;
  }

  get icvOffset(): number {
    return this.offset + this.length - this.icvLength;
  }

  private u32(at: number): number {
    const b = this.bytes;
    const o = this.offset + at;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }
}

/** Reads SPI and sequence number of a packet that passed check(). */
export function parseEsp(view: EspView): EspHeader | EspMalformation {
  const bad = view.check();
  if (bad !== null) return bad;
  return { spi: view.spi, sequence: view.sequence };
}

/** Writes the 8-byte header; returns its length. */
export function emitEsp(header: EspHeader, bytes: Uint8Array, offset: number): number {
  writeEspHeader(bytes, offset, header.spi, header.sequence);
  return ESP_HEADER_LENGTH;
}

export function writeEspHeader(bytes: Uint8Array, offset: number, spi: number, sequence: number): void {
  bytes[offset] = spi >>> 24;
  bytes[offset + 1] = (spi >>> 16) & 0xff;
  bytes[offset + 2] = (spi >>> 8) & 0xff;
  bytes[offset + 3] = spi & 0xff;
  bytes[offset + 4] = sequence >>> 24;
  bytes[offset + 5] = (sequence >>> 16) & 0xff;
  bytes[offset + 6] = (sequence >>> 8) & 0xff;
  bytes[offset + 7] = sequence & 0xff;
}

/**
 * Padding so that payload + padding + 2 ends on a multiple of `blockSize` (itself at least 4, RFC
 * 4303 2.4). The padding bytes are 1, 2, 3, ... (the RFC's default, which receivers may check).
 */
export function espPaddingLength(payloadLength: number, blockSize: number): number {
  const aligned = Math.max(blockSize, 4);
  return (aligned - ((payloadLength + 2) % aligned)) % aligned;
}

/** Writes padding, pad length and next header after a payload ending at `end`; returns the new end. */
export function writeEspTrailer(bytes: Uint8Array, end: number, padLength: number, nextHeader: number): number {
  for (let i = 0; i < padLength; i++) bytes[end + i] = i + 1;
  bytes[end + padLength] = padLength;
  bytes[end + padLength + 1] = nextHeader;
  return end + padLength + 2;
}

/** The trailer at the end of decrypted plaintext: payload length and next header, or null if the pad length does not fit. */
export function espTrailer(bytes: Uint8Array, offset: number, length: number): { payloadLength: number; nextHeader: number } | null {
  if (length < 2) return null;
  const padLength = bytes[offset + length - 2];
  const payloadLength = length - 2 - padLength;
  if (payloadLength < 0) return null;
  return { payloadLength, nextHeader: bytes[offset + length - 1] };
}
