/**
 * VXLAN (RFC 7348 section 5), the 8-byte header inside UDP, followed by an inner Ethernet frame.
 *
 * ```
 * |R|R|R|R|I|R|R|R|            Reserved                           |
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * ```
 * VNI 100 is `08 00 00 00 00 00 64 00`.
 */
import { WireView } from './view.js';

export const VXLAN_HEADER_LENGTH = 8;
/** The I flag: a valid VNI is present. */
export const VXLAN_FLAG_VNI = 0x08;
export const VXLAN_MAX_VNI = 0xffffff;

/**
 * Why a VXLAN header is refused (vxlan_rcv):
 * - `truncated`: fewer than 8 bytes;
 * - `bad-flags`: the I flag is clear;
 * - `reserved-set`: any other bit outside the VNI is set. RFC 7348 says to ignore them; Linux drops
 *   the packet unless an extension (GBP, GPE, remote checksum offload) claims them, and burrow
 *   implements none of those.
 */
export type VxlanMalformation = 'truncated' | 'bad-flags' | 'reserved-set';


export class VxlanView extends WireView {
  check(): VxlanMalformation | null {
    const b = this.bytes;
    const o = this.offset;
    if (!this.holds(VXLAN_HEADER_LENGTH)) return 'truncated';
    if ((b[o] & VXLAN_FLAG_VNI) === 0) return 'bad-flags';
    if ((b[o] & ~VXLAN_FLAG_VNI) !== 0 || b[o + 1] !== 0 || b[o + 2] !== 0 || b[o + 3] !== 0 || b[o + 7] !== 0) {
      return 'reserved-set';
    }
    return null;
  }

  get flags(): number {
    return this.bytes[this.offset];
  }
  get vni(): number {
    const b = this.bytes;
    const o = this.offset;
    return (b[o + 4] << 16) | (b[o + 5] << 8) | b[o + 6];
  }
  /** Where the inner Ethernet frame starts, in `bytes`. */
  get payloadOffset(): number {
    return this.offset + VXLAN_HEADER_LENGTH;
  }
  get payloadLength(): number {
    return this.length - VXLAN_HEADER_LENGTH;
  }
}

/** The header as plain data: only the VNI can vary in a header Linux accepts. */
export interface VxlanHeader {
  vni: number;
}

export function parseVxlan(view: VxlanView): VxlanHeader | VxlanMalformation {
  const reason = view.check();
  if (reason !== null) return reason;
  return { vni: view.vni };
}

export function vxlanHeaderLength(_header?: VxlanHeader): number {
  return VXLAN_HEADER_LENGTH;
}

export function emitVxlan(header: VxlanHeader, bytes: Uint8Array, offset: number): number {
  writeVxlanHeader(bytes, offset, header.vni);
  return VXLAN_HEADER_LENGTH;
}

/** Writes `08 00 00 00 vni(3) 00`. */
export function writeVxlanHeader(bytes: Uint8Array, offset: number, vni: number): void {
  bytes[offset] = VXLAN_FLAG_VNI;
  bytes[offset + 1] = 0;
  bytes[offset + 2] = 0;
  bytes[offset + 3] = 0;
  bytes[offset + 4] = vni >>> 16;
  bytes[offset + 5] = vni >>> 8;
  bytes[offset + 6] = vni;
  bytes[offset + 7] = 0;
}
