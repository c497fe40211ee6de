/**
 * What a transmit loop does with the offload header of each packet a device opened with IFF_VNET_HDR
 * and TSO gives it (the kernel's validate_xmit_skb, done in burrow because the underlay is a raw or UDP
 * socket that cannot take a superframe towards a peer that expects wire-sized packets):
 *   - a TCP superframe (gso_type TCPV4/TCPV6) is cut into its segments (wire/gso.ts), each built in the
 *     segment store after the batch's slots, with HEADROOM free before it for the outer headers;
 *   - a packet with a partial checksum (NEEDS_CSUM) gets it finished in place;
 *   - anything else goes on as it is.
 * One Segmenter per loop; nothing is allocated per packet.
 */
import type { PacketBatch } from '../io/port.js';
import { VNET_HEADER_LENGTH } from '../io/port.js';
import { completeChecksum, newTcpSuperframe, parseTcpSuperframe, writeTcpSegment } from '../wire/gso.js';
import {
  newVirtioNetHeader,
  readVirtioNetHeader,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
} from '../wire/virtio-net.js';
import { HEADROOM } from '../tunnel/mode.js';

export const enum Prepared {
  /** Ready to encapsulate where it is. */
  Plain,
  /** A superframe: cut it with `cut` for k < frame.segments. */
  Superframe,
  /** An offload header that makes no sense for the packet: count it as malformed. */
  Malformed,
}

/** Segment starts are kept 8-byte aligned (checksums sum aligned words). */
const ALIGN = 8;

export class Segmenter {
  readonly header = newVirtioNetHeader();
  readonly frame = newTcpSuperframe();
  /** Length of the segment `cut` built last. */
  lastLength = 0;
  private storeStart = 0;
  private storeEnd = 0;
  private cursor = 0;

  constructor(private readonly headroom = HEADROOM) {}

  /** Uses the room after `batch`'s slots as the segment store, empty. */
  reset(batch: PacketBatch): void {
    this.storeStart = batch.tailStart;
    this.storeEnd = batch.data.length;
    this.cursor = this.storeStart;
  }

  /** Empties the store (its segments have been sent). */
  restart(): void {
    this.cursor = this.storeStart;
  }

  /**
   * Reads entry i's offload header and acts on it: finishes a partial checksum in place, or checks a
   * superframe (into `frame`). `l3` is where the IP header starts in the packet (14 for Ethernet).
   */
  prepare(batch: PacketBatch, i: number, l3 = 0): Prepared {
    const h = readVirtioNetHeader(batch.vnet, i * VNET_HEADER_LENGTH, this.header);
    const start = batch.offsets[i];
    const length = batch.lengths[i];
    if (h.gsoType !== VIRTIO_NET_HDR_GSO_NONE) {
      return parseTcpSuperframe(batch.data, start, length, l3, h, this.frame) === null ? Prepared.Superframe : Prepared.Malformed;
    }
    if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0 && !completeChecksum(batch.data, start, length, h.csumStart, h.csumOffset)) {
      return Prepared.Malformed;
    }
    return Prepared.Plain;
  }

  /** Whether the store still takes one more segment of the current superframe. */
  hasRoom(): boolean {
    return this.cursor + this.headroom + this.frame.headerLength + this.frame.mss <= this.storeEnd;
  }

  /** Builds segment k of the superframe at data[start..) in the store; returns where it starts. */
  cut(data: Uint8Array, start: number, k: number): number {
    const at = this.cursor + this.headroom;
    this.lastLength = writeTcpSegment(data, start, this.frame, k, data, at);
    this.cursor = (at + this.lastLength + ALIGN - 1) & ~(ALIGN - 1);
    return at;
  }
}
