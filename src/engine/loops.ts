/**
 * What the packet loops of the engines (engine.ts for the IP tunnels, vxlan.ts) share:
 *
 * - `Senders`: the raw sockets a transmit loop sends on, one per underlay device;
 * - `PendingWrites` and `writeReceived`: a receive loop groups the packets it takes by the device they
 *   go into and writes each group into its device in one batch, counting each packet written
 *   (rx_packets, rx_bytes) or dropped (`rx-device-error`). Entries point into the receive batch: nothing
 *   is copied.
 */
import { PacketBatch, type PacketPort } from '../io/port.js';
import type { DropReason } from '../tunnel/drop.js';
import type { TunnelStats } from '../tunnel/stats.js';

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
    pending.push(start, length);
    if (pending.count === pending.capacity) this.flush(target);
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
): void {
  if (batch.count === 0) return;
  port.writeBatch(batch);
  for (let k = 0; k < batch.count; k++) {
    if (batch.errors[k] === 0) {
      stats.rxPackets++;
      stats.rxBytes += batch.lengths[k] - uncounted;
    } else {
      drop('rx-device-error');
    }
  }
  batch.count = 0;
}
