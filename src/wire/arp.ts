/**
 * ARP (RFC 826) for Ethernet and IPv4, the only kind burrow meets (VXLAN's proxy answers it).
 *
 * ```
 * | Hardware type (1) | Protocol type (0x0800) | HLEN 6 | PLEN 4 | Operation |
 * | Sender MAC (6) | Sender IPv4 (4) | Target MAC (6) | Target IPv4 (4) |      28 bytes
 * ```
 */
import { readIpv4, writeIpv4 } from './address.js';
import { ETHERTYPE_IPV4 } from './numbers.js';
import { WireView } from './view.js';

export const ARP_LENGTH = 28;
export const ARP_HARDWARE_ETHERNET = 1;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

/**
 * `truncated`: fewer than 8 bytes, or than the address lengths say. `unsupported`: not Ethernet/IPv4
 * (hardware type 1, protocol 0x0800, lengths 6 and 4), which arp_rcv drops on an Ethernet device too.
 */
export type ArpMalformation = 'truncated' | 'unsupported';


export class ArpView extends WireView {
  check(): ArpMalformation | null {
    const b = this.bytes;
    const o = this.offset;
    if (!this.holds(8)) return 'truncated';
    if (8 + 2 * (b[o + 4] + b[o + 5]) > this.length) return 'truncated';
    if (this.hardwareType !== ARP_HARDWARE_ETHERNET || this.protocolType !== ETHERTYPE_IPV4 || b[o + 4] !== 6 || b[o + 5] !== 4) {
      return 'unsupported';
    }
    return null;
  }

  get hardwareType(): number {
    return (this.bytes[this.offset] << 8) | this.bytes[this.offset + 1];
  }
  get protocolType(): number {
    return (this.bytes[this.offset + 2] << 8) | this.bytes[this.offset + 3];
  }
  get hardwareLength(): number {
    return this.bytes[this.offset + 4];
  }
  get protocolLength(): number {
    return this.bytes[this.offset + 5];
  }
  get operation(): number {
    return (this.bytes[this.offset + 6] << 8) | this.bytes[this.offset + 7];
  }
  /** Where the sender MAC starts, in `bytes`. */
  get senderMacOffset(): number {
    return this.offset + 8;
  }
  get senderIp(): number {
    return readIpv4(this.bytes, this.offset + 14);
  }
  /** Where the target MAC starts, in `bytes`. */
  get targetMacOffset(): number {
    return this.offset + 18;
  }
  get targetIp(): number {
    return readIpv4(this.bytes, this.offset + 24);
  }
}

/** An Ethernet/IPv4 ARP packet as plain data. */
export interface ArpPacket {
  operation: number;
  senderMac: Uint8Array;
  senderIp: number;
  targetMac: Uint8Array;
  targetIp: number;
}

export function parseArp(view: ArpView): ArpPacket | ArpMalformation {
  const reason = view.check();
  if (reason !== null) return reason;
  const o = view.offset;
  return {
    operation: view.operation,
    senderMac: view.bytes.slice(o + 8, o + 14),
    senderIp: view.senderIp,
    targetMac: view.bytes.slice(o + 18, o + 24),
    targetIp: view.targetIp,
  };
}

export function arpLength(_packet?: ArpPacket): number {
  return ARP_LENGTH;
}

/** Writes all 28 bytes at `bytes[offset]`; returns 28. */
export function emitArp(packet: ArpPacket, bytes: Uint8Array, offset: number): number {
  bytes[offset] = 0;
  bytes[offset + 1] = ARP_HARDWARE_ETHERNET;
  bytes[offset + 2] = ETHERTYPE_IPV4 >>> 8;
  bytes[offset + 3] = ETHERTYPE_IPV4 & 0xff;
  bytes[offset + 4] = 6;
  bytes[offset + 5] = 4;
  bytes[offset + 6] = packet.operation >>> 8;
  bytes[offset + 7] = packet.operation;
  bytes.set(packet.senderMac.subarray(0, 6), offset + 8);
  writeIpv4(bytes, offset + 14, packet.senderIp);
  bytes.set(packet.targetMac.subarray(0, 6), offset + 18);
  writeIpv4(bytes, offset + 24, packet.targetIp);
  return ARP_LENGTH;
}
