/**
 * The packet engine: joins the tunnel devices and the underlay sockets with the tunnel modes.
 *
 * Transmit (a tunnel device is readable):
 *   1. read a batch of inner packets from the device, each with HEADROOM free bytes in front;
 *   2. encapsulate each in place with the tunnel's mode (tunnel/<mode>.ts); a drop is counted on the
 *      tunnel, and a packet too big for the path gets ICMP frag-needed / Packet Too Big written back
 *      into the device, to its sender;
 *   3. send the outer packets in one batch through the underlay sender; count each as sent or as dropped
 *      by the errno the socket gave it (no route, no buffer space). An outer packet longer than its
 *      route's MTU that may be fragmented (DF clear: nopmtudisc, or sit below 1280) is cut into
 *      fragments here and they go in a batch of their own (a raw socket never fragments: EMSGSIZE).
 * Receive (an underlay receiver is readable):
 *   1. read a batch of outer IPv4 packets (a raw socket per protocol: 4, 41, 47);
 *   2. for each, the protocol's receive function parses it, finds the tunnel with the kernel's lookup
 *      order and checks that tunnel's rules; drops are counted on the tunnel or, when none matched, on
 *      the engine (and answered with ICMP port unreachable, as the kernel does);
 *   3. the inner packets, grouped by tunnel, are written into the tunnel devices in batches.
 * Each readable callback handles at most BUDGET batches so that no source starves the others.
 * Buffers: one receive and one transmit batch for the whole engine, reused for every packet.
 */
import { PacketBatch, type PacketPort } from '../io/port.js';
import { fragmentIpv4 } from '../wire/ipv4-fragment.js';
import { IPV6_MIN_MTU } from '../wire/ipv6.js';
import { countDrop, type DropReason } from '../tunnel/drop.js';
import { encapsulateGre, receiveGre } from '../tunnel/gre.js';
import { encapsulateIpip, receiveIpip } from '../tunnel/ipip.js';
import { decapsulate } from '../tunnel/ip-tunnel.js';
import { HEADROOM, newDecapResult, newEncapResult, type Encapsulate, type Receive } from '../tunnel/mode.js';
import { protocolOfMode, type TunnelMode } from '../tunnel/params.js';
import { encapsulateSit, receiveSit } from '../tunnel/sit.js';
import { emptyStats } from '../tunnel/stats.js';
import type { TunnelTable } from '../tunnel/table.js';
import { tunnelOverhead, type Tunnel } from '../tunnel/tunnel.js';
import { buildFragNeeded, buildPacketTooBig, buildPortUnreachable } from './icmp-replies.js';
import { IcmpRateLimiter } from './rate-limit.js';

export type UnderlayProtocol = 4 | 41 | 47;

/** How the engine reaches the kernel; the daemon gives real sockets, tests give memory ports. */
export interface EngineIo {
  /** A socket that receives every outer packet of one IP protocol addressed to this host. */
  openReceiver(protocol: UnderlayProtocol): PacketPort;
  /** A socket that sends complete IPv4 packets (burrow writes the header), bound to `link` if not 0. */
  openSender(link: number): PacketPort;
  now(): number;
  /**
   * Called before each batch is read from a receive socket: the daemon reads the kernel's queued link
   * events here, so that a tunnel set up (or down) before its packets came is seen so by them. The
   * event loop would otherwise run the receive callback first when both are ready at once.
   */
  beforeReceive?(): void;
}

export const BATCH_SIZE = 64;
/** Room for the largest IPv4 packet plus the headroom. */
const SLOT_SIZE = 65536 + HEADROOM;
const BUDGET = 4;
/** Fragments of the largest outer packet at the smallest MTU (65535 bytes, 48 per 68-byte fragment). */
const MAX_FRAGMENTS = 1366;

const ENCAPSULATE: Record<TunnelMode, Encapsulate | null> = {
  ipip: encapsulateIpip,
  gre: encapsulateGre,
  sit: encapsulateSit,
  isatap: null,
  vti: null,
};

const RECEIVE: Record<UnderlayProtocol, Receive> = { 4: receiveIpip, 41: receiveSit, 47: receiveGre };

interface Attachment {
  tunnel: Tunnel;
  device: PacketPort;
  /** Inner packets waiting to be written into the device (entries point into the receive batch). */
  pending: PacketBatch;
}

/** Maps the errno a send gave one packet to the drop it counts as. */
function sendFailure(errno: string): DropReason {
  switch (errno) {
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EADDRNOTAVAIL':
    case 'EINVAL':
    case 'ENETDOWN':
      return 'no-route';
    case 'ENOBUFS':
    case 'EAGAIN':
      return 'tx-no-buffer';
    default:
      return 'tx-send-failed';
  }
}

export class Engine {
  /** Drops not charged to a tunnel (nothing matched, or the outer packet was bad), by reason. */
  readonly drops = new Map<DropReason, number>();
  private readonly unchargedStats = emptyStats();
  private readonly attached = new Map<Tunnel, Attachment>();
  private readonly receivers = new Map<UnderlayProtocol, PacketPort>();
  private readonly senders = new Map<number, PacketPort>();
  private readonly rxIn = new PacketBatch(BATCH_SIZE, SLOT_SIZE, 0, true);
  private readonly txIn = new PacketBatch(BATCH_SIZE, SLOT_SIZE, HEADROOM, true);
  private readonly txOut = PacketBatch.forWriting(BATCH_SIZE);
  private readonly scratch = new PacketBatch(1, 2048, 0);
  private readonly encapResult = newEncapResult();
  private readonly decapResult = newDecapResult();
  private readonly touched: Attachment[] = [];
  /** The fragments of one outer packet, made when first needed. */
  private fragments: PacketBatch | null = null;
  /** IPv4 ID for fragmented packets (a raw socket would give each fragment an ID of its own). */
  private fragmentId = (Math.random() * 0x10000) >>> 0;
  private readonly limiter: IcmpRateLimiter;
  private closed = false;

  constructor(
    private readonly table: TunnelTable,
    private readonly io: EngineIo,
    private readonly errnoName: (errno: number) => string,
  ) {
    this.limiter = new IcmpRateLimiter(() => io.now());
  }

  /** Starts moving packets for a tunnel (already in the table) over its device. */
  attach(tunnel: Tunnel, device: PacketPort): void {
    const protocol = protocolOfMode(tunnel.params.mode) as UnderlayProtocol;
    const attachment: Attachment = { tunnel, device, pending: PacketBatch.forWriting(BATCH_SIZE) };
    this.attached.set(tunnel, attachment);
    this.receiver(protocol);
    device.onReadable(() => this.transmit(attachment));
  }

  /** Stops a tunnel's traffic and closes its device port; closes sockets no tunnel needs any more. */
  detach(tunnel: Tunnel): void {
    const attachment = this.attached.get(tunnel);
    if (!attachment) return;
    this.attached.delete(tunnel);
    attachment.device.close();
    const protocol = protocolOfMode(tunnel.params.mode) as UnderlayProtocol;
    if (this.table.ofProtocol(protocol).length === 0) {
      this.receivers.get(protocol)?.close();
      this.receivers.delete(protocol);
    }
  }

  isAttached(tunnel: Tunnel): boolean {
    return this.attached.has(tunnel);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const a of this.attached.values()) a.device.close();
    for (const r of this.receivers.values()) r.close();
    for (const s of this.senders.values()) s.close();
    this.attached.clear();
    this.receivers.clear();
    this.senders.clear();
  }

  private receiver(protocol: UnderlayProtocol): PacketPort {
    let port = this.receivers.get(protocol);
    if (!port) {
      const opened = this.io.openReceiver(protocol);
      opened.onReadable(() => this.receive(protocol, opened));
      this.receivers.set(protocol, opened);
      port = opened;
    }
    return port;
  }

  private sender(link: number): PacketPort {
    let port = this.senders.get(link);
    if (!port) {
      port = this.io.openSender(link);
      this.senders.set(link, port);
    }
    return port;
  }

  private transmit(a: Attachment): void {
    const t = a.tunnel;
    const encapsulate = ENCAPSULATE[t.params.mode];
    if (!encapsulate) return;
    const input = this.txIn;
    const output = this.txOut;
    const result = this.encapResult;
    const sender = this.sender(t.params.link);
    for (let round = 0; round < BUDGET; round++) {
      const n = a.device.readBatch(input);
      if (n === 0) return;
      output.borrow(input);
      const data = input.data;
      for (let i = 0; i < n; i++) {
        const reason = encapsulate(t, data, input.offsets[i], input.lengths[i], result);
        if (reason === null) {
          if (result.length > t.routeMtu && (data[result.start + 6] & 0x40) === 0) {
            // Whatever is queued leaves first, so that packets keep their order.
            this.send(t, sender, output);
            this.sendFragmented(t, sender, data, result.start, result.length, result.destination);
          } else {
            output.push(result.start, result.length, result.destination);
          }
          continue;
        }
        t.drop(reason);
        if (reason === 'too-big') this.tooBig(a, data, input.offsets[i], input.lengths[i], result.mtu);
      }
      this.send(t, sender, output);
      if (n < input.capacity) return;
    }
  }

  /** Sends a batch of outer packets and counts each as sent or dropped; empties the batch. */
  private send(t: Tunnel, sender: PacketPort, output: PacketBatch): void {
    if (output.count === 0) return;
    sender.writeBatch(output);
    const overhead = tunnelOverhead(t.params);
    for (let k = 0; k < output.count; k++) {
      if (output.errors[k] === 0) {
        t.stats.txPackets++;
        t.stats.txBytes += output.lengths[k] - overhead;
      } else {
        t.drop(sendFailure(this.errnoName(output.errors[k])));
      }
    }
    output.count = 0;
  }

  /**
   * Sends one outer packet as fragments of the route's MTU (ip_fragment). It counts as one packet, as on
   * the kernel's tunnel (the counters see the packet before fragmentation), dropped by the first error.
   */
  private sendFragmented(t: Tunnel, sender: PacketPort, data: Buffer, start: number, length: number, destination: number): void {
    let frags = this.fragments;
    if (frags === null) {
      frags = this.fragments = PacketBatch.forWriting(MAX_FRAGMENTS);
      frags.data = Buffer.alloc(65535 + MAX_FRAGMENTS * 20);
    }
    this.fragmentId = (this.fragmentId + 1) & 0xffff || 1;
    const count = fragmentIpv4(data, start, length, t.routeMtu, this.fragmentId, frags.data, 0, frags.offsets, frags.lengths, 0, MAX_FRAGMENTS);
    if (count === 0) {
      t.drop('tx-send-failed');
      return;
    }
    frags.count = count;
    frags.addrs.fill(destination, 0, count);
    frags.errors.fill(0, 0, count);
    sender.writeBatch(frags);
    for (let k = 0; k < count; k++) {
      if (frags.errors[k] !== 0) {
        t.drop(sendFailure(this.errnoName(frags.errors[k])));
        return;
      }
    }
    t.stats.txPackets++;
    t.stats.txBytes += length - tunnelOverhead(t.params);
  }

  private receive(protocol: UnderlayProtocol, port: PacketPort): void {
    const receiveOne = RECEIVE[protocol];
    const input = this.rxIn;
    const result = this.decapResult;
    for (let round = 0; round < BUDGET; round++) {
      this.io.beforeReceive?.();
      const n = port.readBatch(input);
      if (n === 0) return;
      const data = input.data;
      for (let i = 0; i < n; i++) {
        const start = input.offsets[i];
        const length = input.lengths[i];
        const reason = decapsulate(receiveOne, this.table, data, start, length, input.ifindexes[i], result);
        const t = result.tunnel;
        if (reason !== null) {
          if (t) t.drop(reason);
          else countDrop(this.unchargedStats, this.drops, reason);
          if (reason === 'no-tunnel') this.portUnreachable(data, start, length);
          continue;
        }
        const a = t ? this.attached.get(t) : undefined;
        if (!t) continue;
        // A tunnel in the table is attached; should that ever not hold, the packet is still counted.
        if (!a) {
          t.drop('rx-device-error');
          continue;
        }
        // An outer destination in 224.0.0.0/4 counts as multicast on the tunnel (ip_tunnel_rcv).
        if (data[start + 16] >>> 4 === 0xe) t.stats.multicast++;
        if (a.pending.count === 0) {
          a.pending.borrow(input);
          this.touched.push(a);
        }
        a.pending.push(result.start, result.length);
        if (a.pending.count === a.pending.capacity) this.flush(a);
      }
      for (let k = 0; k < this.touched.length; k++) this.flush(this.touched[k]);
      this.touched.length = 0;
      if (n < input.capacity) return;
    }
  }

  /** Writes a tunnel's pending inner packets into its device and counts them. */
  private flush(a: Attachment): void {
    const batch = a.pending;
    if (batch.count === 0) return;
    a.device.writeBatch(batch);
    const stats = a.tunnel.stats;
    for (let k = 0; k < batch.count; k++) {
      if (batch.errors[k] === 0) {
        stats.rxPackets++;
        stats.rxBytes += batch.lengths[k];
      } else {
        a.tunnel.drop('rx-device-error');
      }
    }
    batch.count = 0;
  }

  /** ICMP port unreachable to the sender of an outer packet no tunnel took (tunnel4/gre_rcv). */
  private portUnreachable(data: Buffer, start: number, length: number): void {
    const source = data.readUInt32BE(start + 12);
    if (!this.limiter.allow(source)) return;
    const out = this.scratch;
    const len = buildPortUnreachable(data, start, length, out.data, 0);
    if (len <= 0) return;
    out.count = 0;
    out.push(0, len, source);
    this.sender(0).writeBatch(out);
  }

  /** frag-needed (IPv4) or Packet Too Big (IPv6) back to the inner sender, through the device. */
  private tooBig(a: Attachment, data: Buffer, start: number, length: number, mtu: number): void {
    const version = data[start] >>> 4;
    // IPv6 has no MTU below 1280 to report (tnl_update_pmtu sends nothing then).
    if (version === 6 && mtu < IPV6_MIN_MTU) return;
    const source = version === 4 ? data.readUInt32BE(start + 12) : data.toString('latin1', start + 8, start + 24);
    if (!this.limiter.allow(source)) return;
    const out = this.scratch;
    const len =
      version === 4
        ? buildFragNeeded(data, start, length, mtu, out.data, 0)
        : buildPacketTooBig(data, start, length, mtu, out.data, 0);
    if (len <= 0) return;
    out.count = 0;
    out.push(0, len);
    a.device.writeBatch(out);
  }
}
