/**
 * The virtio_net_hdr (include/uapi/linux/virtio_net.h) that a TUN/TAP device opened with IFF_VNET_HDR
 * puts before every packet it gives, and expects before every packet it takes. Ten bytes:
 *
 *   0 flags        NEEDS_CSUM: the checksum at csum_start + csum_offset is partial (it holds the
 *                  pseudo-header sum) and whoever passes the packet on must finish it; DATA_VALID:
 *                  the checksums were verified.
 *   1 gso_type     NONE, TCPV4, TCPV6 (| ECN): the packet is a superframe that stands for several
 *                  TCP segments of gso_size payload bytes each (the last may be shorter).
 *   2 hdr_len      length of the headers (Ethernet, IP, TCP) before the payload (a hint only).
 *   4 gso_size     payload bytes per segment (the MSS).
 *   6 csum_start   where checksumming starts, from the start of the packet (the TCP/UDP header).
 *   8 csum_offset  where the checksum field is, from csum_start (16 for TCP, 6 for UDP).
 *
 * The 16-bit fields are in the machine's byte order on a device without TUNSETVNETLE/BE (legacy
 * virtio on a little-endian host): little-endian everywhere burrow runs. The numbers are fixed by the
 * virtio specification (section 5.1.6); test/compliance/native.test.ts holds them against the headers.
 */

export const VIRTIO_NET_HDR_LENGTH = 10;
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

export interface VirtioNetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function newVirtioNetHeader(): VirtioNetHeader {
  return { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
}

function u16le(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8);
}

function setU16le(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 0xff;
  bytes[at + 1] = (value >>> 8) & 0xff;
}

/** Reads the header at `offset` into `out` (reused: no allocation). */
export function readVirtioNetHeader(bytes: Uint8Array, offset: number, out: VirtioNetHeader): VirtioNetHeader {
  out.flags = bytes[offset];
  out.gsoType = bytes[offset + 1];
  out.hdrLen = u16le(bytes, offset + 2);
  out.gsoSize = u16le(bytes, offset + 4);
  out.csumStart = u16le(bytes, offset + 6);
  out.csumOffset = u16le(bytes, offset + 8);
  return out;
}

export function writeVirtioNetHeader(h: VirtioNetHeader, bytes: Uint8Array, offset: number): void {
  bytes[offset] = h.flags;
  bytes[offset + 1] = h.gsoType;
  setU16le(bytes, offset + 2, h.hdrLen);
  setU16le(bytes, offset + 4, h.gsoSize);
  setU16le(bytes, offset + 6, h.csumStart);
  setU16le(bytes, offset + 8, h.csumOffset);
}

/** A header that asks nothing (no partial checksum, no segmentation): what a plain packet gets. */
export function clearVirtioNetHeader(bytes: Uint8Array, offset: number): void {
  bytes.fill(0, offset, offset + VIRTIO_NET_HDR_LENGTH);
}
