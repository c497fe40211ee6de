/**
 * Ethernet II frame header (IEEE 802.3 with an EtherType), as TAP devices and VXLAN carry it, and MAC
 * addresses. No FCS (the kernel strips it) and no VLAN handling: a tagged frame shows EtherType 0x8100.
 *
 * ```
 * | Destination MAC (6) | Source MAC (6) | EtherType (2) | payload ...
 * ```
 */
import { WireView } from './view.js';

export const ETHERNET_HEADER_LENGTH = 14;
export const MAC_LENGTH = 6;

/** `truncated`: fewer than 14 bytes. */
export type EthernetMalformation = 'truncated';


export class EthernetView extends WireView {
  check(): EthernetMalformation | null {
    if (!this.holds(ETHERNET_HEADER_LENGTH)) return 'truncated';
    return null;
  }

  /** Where the destination MAC starts, in `bytes`. */
  get dstOffset(): number {
    return this.offset;
  }
  /** Where the source MAC starts, in `bytes`. */
  get srcOffset(): number {
    return this.offset + 6;
  }
  /** A copy of the destination MAC (allocates). */
  get dst(): Uint8Array {
    return this.bytes.slice(this.offset, this.offset + 6);
  }
  get src(): Uint8Array {
    return this.bytes.slice(this.offset + 6, this.offset + 12);
  }
  get etherType(): number {
    return (this.bytes[this.offset + 12] << 8) | this.bytes[this.offset + 13];
  }
  get payloadOffset(): number {
    return this.offset + ETHERNET_HEADER_LENGTH;
  }
  get payloadLength(): number {
    return this.length - ETHERNET_HEADER_LENGTH;
  }
}

export interface EthernetHeader {
  dst: Uint8Array;
  src: Uint8Array;
  etherType: number;
}

export function parseEthernet(view: EthernetView): EthernetHeader | EthernetMalformation {
  const reason = view.check();
  if (reason !== null) return reason;
  return { dst: view.dst, src: view.src, etherType: view.etherType };
}

export function ethernetHeaderLength(_header?: EthernetHeader): number {
  return ETHERNET_HEADER_LENGTH;
}

export function emitEthernet(header: EthernetHeader, bytes: Uint8Array, offset: number): number {
  writeEthernetHeader(bytes, offset, header.dst, 0, header.src, 0, header.etherType);
  return ETHERNET_HEADER_LENGTH;
}

/** Writes the 14-byte header; the MACs are copied from `dst[dstOffset..+6)` and `src[srcOffset..+6)`. */
export function writeEthernetHeader(
  bytes: Uint8Array,
  offset: number,
  dst: Uint8Array,
  dstOffset: number,
  src: Uint8Array,
  srcOffset: number,
  etherType: number,
): void {
  for (let i = 0; i < 6; i++) {
    bytes[offset + i] = dst[dstOffset + i];
    bytes[offset + 6 + i] = src[srcOffset + i];
  }
  bytes[offset + 12] = etherType >>> 8;
  bytes[offset + 13] = etherType;
}

// ---------------------------------------------------------------------------------------------------
// MAC addresses: 6 bytes, read in place with an offset.

/** `02:00:00:00:0a:01`, as `ip link` prints it. */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  let text = '';
  for (let i = 0; i < 6; i++) {
    if (i > 0) text += ':';
    const b = bytes[offset + i];
    text += (b < 16 ? '0' : '') + b.toString(16);
  }
  return text;
}

/** Six colon-separated groups of 1-2 hex digits (iproute2 accepts `2:0:0:0:a:1` too); else null. */
export function parseMac(text: string): Uint8Array | null {
  const parts = text.split(':');
  if (parts.length !== 6) return null;
  const mac = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(parts[i])) return null;
    mac[i] = parseInt(parts[i], 16);
  }
  return mac;
}

/** The group bit (multicast, broadcast included). */
export function isMulticastMac(bytes: Uint8Array, offset = 0): boolean {
  return (bytes[offset] & 0x01) !== 0;
}

export function isBroadcastMac(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 6; i++) if (bytes[offset + i] !== 0xff) return false;
  return true;
}

export function isZeroMac(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 6; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

/** Usable as a learned source: not multicast and not all zeros (is_valid_ether_addr). */
export function isValidUnicastMac(bytes: Uint8Array, offset = 0): boolean {
  return !isMulticastMac(bytes, offset) && !isZeroMac(bytes, offset);
}

export function macEqual(a: Uint8Array, b: Uint8Array, aOffset = 0, bOffset = 0): boolean {
  for (let i = 0; i < 6; i++) if (a[aOffset + i] !== b[bOffset + i]) return false;
  return true;
}
