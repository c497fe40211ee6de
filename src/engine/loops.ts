/**
 * What the packet loops of the engines (engine.ts for the IP tunnels, vxlan.ts) share:
 *
 * - `Senders`: the raw sockets a transmit loop sends on, one per underlay device;
 * - `PendingWrites` and `writeReceived`: a receive loop groups the packets it takes by the device they
 *   go into and writes each group into its device in one batch, counting each packet written
 *   (rx_packets, rx_bytes) or dropped (`rx-device-error`). Entries point into the receive batch: nothing
 *   is copied.
 */
import { PacketBatch, VNET_HEADER_LENGTH, type PacketPort } from '../io/port.js';
import type { DropReason } from '../tunnel/drop.js';
import type { TunnelStats } from '../tunnel/stats.js';
import { appendToTcpGroup, finishTcpGroup, newTcpGroup, openTcpGroup, tcpCandidate } from '../wire/gro.js';
import { newVirtioNetHeader, writeVirtioNetHeader } from '../wire/virtio-net.js';

/** The raw sockets a sending loop uses, one per underlay device (`link`, 0 for none), opened when first needed. */
export class Senders {
  private readonly ports = new Map<number, PacketPort>();

  constructor(private readonly open: (link: number) => PacketPort) {}

  get(link: number): PacketPort {
    let port = this.ports.get(link);
    if (!port) {
      port = this.open(link);
      this.ports.set(link, port);
    }
    return port;
  }

  close(): void {
    for (const port of this.ports.values()) port.close();
    this.ports.clear();
  }
}

export interface PendingTarget {
  /** Packets waiting to be written into the target's device. */
  readonly pending: PacketBatch;
  /** Receive coalescing into the device (a TUN with IFF_VNET_HDR and the gro offload), or null. */
  readonly gro: Coalescing | null;
}

/**
 * A target's receive coalescing (wire/gro.ts): the TCP group open at its last pending entry, and how
 * many segments each pending entry stands for (so that rx_packets counts what came off the wire).
 */
export class Coalescing {
  readonly group = newTcpGroup();
  readonly header = newVirtioNetHeader();
  /** The pending entry the open group is, -1 for none. */
  entry = -1;
  readonly segments: Uint16Array;
  /** Header bytes of the segments merged into each entry (gone from the superframe, but received). */
  readonly mergedHeaderBytes: Uint32Array;

  /** `l3`: where the IP header starts in each packet (0 for TUN, 14 for the Ethernet frames of a TAP). */
  constructor(capacity: number, readonly l3 = 0) {
    this.segments = new Uint16Array(capacity);
    this.mergedHeaderBytes = new Uint32Array(capacity);
  }

  /** Turns the group into a superframe with its header when it has more than one segment. */
  close(pending: PacketBatch): void {
    if (this.entry >= 0 && this.group.segments > 1) {
      finishTcpGroup(pending.data, this.group, this.header);
      writeVirtioNetHeader(this.header, pending.vnet, this.entry * VNET_HEADER_LENGTH);
    }
    this.group.open = false;
    this.entry = -1;
  }
}

export class PendingWrites<T extends PendingTarget> {
  private readonly touched: T[] = [];

  constructor(private readonly flush: (target: T) => void) {}

  /** Queues packet [start, start+length) of `source`'s buffer for `target`; writes the group when full. */
  add(target: T, source: PacketBatch, start: number, length: number): void {
    const pending = target.pending;
    if (pending.count === 0) {
      pending.borrow(source);
      this.touched.push(target);
    }
    const gro = target.gro;
    if (gro === null) {
      pending.push(start, length);
      if (pending.count === pending.capacity) this.flush(target);
      return;
    }
    const l4 = tcpCandidate(source.data, start, length, gro.l3);
    if (l4 >= 0 && gro.entry >= 0 && appendToTcpGroup(source.data, start, length, l4, gro.group)) {
      pending.lengths[gro.entry] = gro.group.length;
      gro.segments[gro.entry]++;
      gro.mergedHeaderBytes[gro.entry] += gro.group.headerLength;
      return;
    }
    gro.close(pending);
    if (pending.count === pending.capacity) this.flush(target);
    if (pending.count === 0) pending.borrow(source);
    const entry = pending.count;
    pending.push(start, length);
    gro.segments[entry] = 1;
    gro.mergedHeaderBytes[entry] = 0;
    if (l4 >= 0) {
      // The group may grow to the end of the packet's slot (receive batches have no headroom).
      const slot = source.slotSize;
      const limit = slot > 0 ? (Math.floor(start / slot) + 1) * slot : start + length;
      openTcpGroup(source.data, start, length, limit, gro.l3, l4, gro.group);
      if (gro.group.open) gro.entry = entry;
    }
  }

  /** Writes every group still queued (at the end of each receive batch). */
  flushAll(): void {
    for (let k = 0; k < this.touched.length; k++) this.flush(this.touched[k]);
    this.touched.length = 0;
  }
}

/**
 * Writes a batch of received packets into `port` and counts them on `stats`; `uncounted` bytes of each
 * are not counted (vxlan counts frames without their Ethernet header, as the kernel does).
 */
export function writeReceived(
  port: PacketPort,
  batch: PacketBatch,
  stats: TunnelStats,
  drop: (reason: DropReason) => unknown,
  uncounted = 0,
  gro: Coalescing | null = null,
): void {
  if (batch.count === 0) return;
  gro?.close(batch);
  port.writeBatch(batch);
  for (let k = 0; k < batch.count; k++) {
    const segments = gro === null ? 1 : gro.segments[k];
    if (batch.errors[k] === 0) {
      // A superframe counts as the segments that came in, headers and all.
      stats.rxPackets += segments;
      stats.rxBytes += batch.lengths[k] - uncounted + (gro === null ? 0 : gro.mergedHeaderBytes[k]);
    } else {
      for (let s = 0; s < segments; s++) drop('rx-device-error');
    }
  }
  batch.count = 0;
}
