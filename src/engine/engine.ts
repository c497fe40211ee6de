/**
 * The packet engine: joins the tunnel devices and the underlay sockets with the tunnel modes.
 *
 * Transmit (a tunnel device is readable):
 *   1. read a batch of inner packets from the device, each with HEADROOM free bytes in front;
 *   2. encapsulate each in place with the tunnel's mode (tunnel/<mode>.ts; vti through the IPsec
 *      database and ESP, xfrm/); a drop is counted on the tunnel, and a packet too big for the path
 *      gets ICMP frag-needed / Packet Too Big written back into the device, to its sender, as a packet
 *      a vti has no IPsec state for gets host (IPv6: address) unreachable;
 *   3. send the outer packets in one batch through the underlay sender; count each as sent (the inner
 *      bytes) or as dropped by the errno the socket gave it (no route, no buffer space). EMSGSIZE means
 *      the kernel has learned a smaller path MTU than the tunnel knew: the outer route is looked up
 *      again and the packet answered with frag-needed / Packet Too Big, as the kernel's tunnel answers it.
 *      An outer packet longer than its route's MTU that may be fragmented (DF clear: nopmtudisc, or sit
 *      below 1280) is cut into fragments here and they go in a batch of their own (a raw socket never
 *      fragments: EMSGSIZE).
 * Receive (an underlay receiver is readable):
 *   1. read a batch of outer IPv4 packets (a raw socket per protocol: 4, 41, 47, and 50 for vti);
 *   2. for each, the protocol's receive function parses it, finds the tunnel with the kernel's lookup
 *      order and checks that tunnel's rules; drops are counted on the tunnel or, when none matched, on
 *      the engine (and answered with ICMP port unreachable, as the kernel does);
 *   3. the inner packets, grouped by tunnel, are written into the tunnel devices in batches.
 * Each readable callback handles at most BUDGET batches so that no source starves the others.
 * Buffers: one receive and one transmit batch for the whole engine, reused for every packet.
 */
import { randomInt } from 'node:crypto';
import { PacketBatch, type PacketPort } from '../io/port.js';
import { fragmentIpv4 } from '../wire/ipv4-fragment.js';
import { IPV6_MIN_MTU } from '../wire/ipv6.js';
import { countDrop, type DropReason } from '../tunnel/drop.js';
import { encapsulateGre, receiveGre } from '../tunnel/gre.js';
import { encapsulateIpip, receiveIpip } from '../tunnel/ipip.js';
import { decapsulate } from '../tunnel/ip-tunnel.js';
import { HEADROOM, newDecapResult, newEncapResult, type Encapsulate, type Receive } from '../tunnel/mode.js';
import { underlayProtocolOfMode, type TunnelMode } from '../tunnel/params.js';
import { encapsulateSit, receiveSit } from '../tunnel/sit.js';
import { encapsulateVti, receiveVti } from '../tunnel/vti.js';
import { emptyStats } from '../tunnel/stats.js';
import type { TunnelTable } from '../tunnel/table.js';
import { tunnelOverhead, type Tunnel } from '../tunnel/tunnel.js';
import { XfrmDatabase } from '../xfrm/database.js';
import { buildFragNeeded, buildHostUnreachable, buildPacketTooBig, buildPortUnreachable } from './icmp-replies.js';
import { IcmpRateLimiter } from './rate-limit.js';
import { Coalescing, PendingWrites, Senders, writeReceived } from './loops.js';
import { Prepared, Segmenter } from './segmenter.js';

export type UnderlayProtocol = 4 | 41 | 47 | 50;

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
/** Room for the largest IP packet (an IPv6 superframe: 40 + 65535) plus the headroom. */
export const SLOT_SIZE = 65600 + HEADROOM;
const BUDGET = 4;
/** Where the segments of superframes are built, after the transmit slots; sent when it fills up. */
export const SEGMENT_STORE = 256 * 1024;
/** Entries of one transmit write batch: a batch of superframes cuts into many segments. */
export const TX_OUT_CAPACITY = 512;
/** Fragments of the largest outer packet at the smallest MTU (65535 bytes, 48 per 68-byte fragment). */
const MAX_FRAGMENTS = 1366;

/** The drops after which a vti tells the sender, as vti_xmit's tx_error_icmp does (dst_link_failure). */
const VTI_UNREACHABLE = new Set<DropReason>(['xfrm-out-no-state', 'xfrm-out-policy-block', 'no-route']);

interface Attachment {
  tunnel: Tunnel;
  device: PacketPort;
  /** Inner packets waiting to be written into the device (entries point into the receive batch). */
  pending: PacketBatch;
  gro: Coalescing | null;
}

/** Offloads the daemon chose (daemon/offload.ts); the device's IFF_VNET_HDR says whether they can run. */
export interface EngineOptions {
  /** Coalesce received TCP segments into superframes written with a virtio_net_hdr. */
  gro?: boolean;
}

/** Maps the errno a send gave one packet to the drop it counts as. */
export function sendFailure(errno: string): DropReason {
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
  private readonly senders = new Senders((link) => this.io.openSender(link));
  private readonly rxIn = new PacketBatch(BATCH_SIZE, SLOT_SIZE, 0, true);
  private readonly txIn = new PacketBatch(BATCH_SIZE, SLOT_SIZE, HEADROOM, true, SEGMENT_STORE);
  private readonly txOut = PacketBatch.forWriting(TX_OUT_CAPACITY);
  private readonly segmenter = new Segmenter();
  private readonly scratch = new PacketBatch(1, 2048, 0);
  private readonly encapResult = newEncapResult();
  private readonly decapResult = newDecapResult();
  private readonly pendingWrites = new PendingWrites<Attachment>((a) => this.flush(a));
  /** For each entry of txOut, where its inner packet is in txIn's buffer (its length is tx_bytes). */
  private readonly txInnerStart = new Uint32Array(TX_OUT_CAPACITY);
  private readonly txInnerLength = new Uint32Array(TX_OUT_CAPACITY);
  /** The fragments of one outer packet, made when first needed. */
  private fragments: PacketBatch | null = null;
  /** IPv4 ID for fragmented packets (a raw socket would give each fragment an ID of its own). */
  private fragmentId = (Math.random() * 0x10000) >>> 0;
  private readonly limiter: IcmpRateLimiter;
  private routeStale: (tunnel: Tunnel) => void = () => {};
  private readonly encapsulators: Record<TunnelMode, Encapsulate>;
  private readonly receiveFunctions: Record<UnderlayProtocol, Receive>;
  private closed = false;

  /** `xfrm`: the IPsec states and policies vti uses (the daemon's; tests may give their own). */
  constructor(
    private readonly table: TunnelTable,
    private readonly io: EngineIo,
    private readonly errnoName: (errno: number) => string,
    readonly xfrm: XfrmDatabase = new XfrmDatabase(() => Math.floor(Date.now() / 1000)),
    private readonly options: EngineOptions = {},
  ) {
    this.limiter = new IcmpRateLimiter(() => io.now());
    this.encapsulators = {
      ipip: encapsulateIpip,
      gre: encapsulateGre,
      sit: encapsulateSit,
      isatap: encapsulateSit,
      vti: (t, bytes, start, length, out) => encapsulateVti(xfrm, t, bytes, start, length, out),
    };
    this.receiveFunctions = {
      4: receiveIpip,
      41: receiveSit,
      47: receiveGre,
      50: (table_, bytes, outer, payload, payloadLength, ifindex, out) =>
        receiveVti(xfrm, table_, bytes, outer, payload, payloadLength, ifindex, out),
    };
  }

  /**
   * Who looks a tunnel's outer route up again (route, routeMtu) when a send shows that the kernel's
   * path MTU is smaller than the one the tunnel has: the daemon.
   */
  onRouteStale(refresh: (tunnel: Tunnel) => void): void {
    this.routeStale = refresh;
  }

  /** Starts moving packets for a tunnel (already in the table) over its device. */
  attach(tunnel: Tunnel, device: PacketPort): void {
    // The kernel's outer IP ID counters start at random (ip_idents_reserve); so do burrow's.
    tunnel.txId = randomInt(0x10000);
    const protocol = underlayProtocolOfMode(tunnel.params.mode);
    const gro = this.options.gro === true && device.vnetHeader === true ? new Coalescing(BATCH_SIZE) : null;
    const attachment: Attachment = { tunnel, device, pending: PacketBatch.forWriting(BATCH_SIZE), gro };
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
    const protocol = underlayProtocolOfMode(tunnel.params.mode);
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
    this.senders.close();
    this.attached.clear();
    this.receivers.clear();
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
    return this.senders.get(link);
  }

  private transmit(a: Attachment): void {
    const t = a.tunnel;
    const encapsulate = this.encapsulators[t.params.mode];
    const input = this.txIn;
    const output = this.txOut;
    const sender = this.sender(t.params.link);
    const offloads = a.device.vnetHeader === true;
    const segmenter = this.segmenter;
    for (let round = 0; round < BUDGET; round++) {
      const n = a.device.readBatch(input);
      if (n === 0) return;
      output.borrow(input);
      segmenter.reset(input);
      const data = input.data;
      for (let i = 0; i < n; i++) {
        const start = input.offsets[i];
        const length = input.lengths[i];
        if (offloads) {
          const kind = segmenter.prepare(input, i);
          if (kind === Prepared.Superframe) {
            for (let k = 0; k < segmenter.frame.segments; k++) {
              if (!segmenter.hasRoom() || output.count === output.capacity) {
                this.send(a, sender, output);
                segmenter.restart();
                if (!segmenter.hasRoom()) break; // cannot happen: the store holds any segment
              }
              const at = segmenter.cut(data, start, k);
              this.encapsulateOne(a, encapsulate, sender, at, segmenter.lastLength);
            }
            continue;
          }
          if (kind !== Prepared.Plain) {
            t.drop('tx-malformed');
            continue;
          }
        }
        if (output.count === output.capacity) {
          this.send(a, sender, output);
          segmenter.restart();
        }
        this.encapsulateOne(a, encapsulate, sender, start, length);
      }
      this.send(a, sender, output);
      if (n < input.capacity) return;
    }
  }

  /**
   * Encapsulates one inner packet of txIn's buffer in place and queues it on txOut; or sends it as
   * fragments (after what is queued, so that packets keep their order); or drops it.
   */
  private encapsulateOne(a: Attachment, encapsulate: Encapsulate, sender: PacketPort, start: number, length: number): void {
    const t = a.tunnel;
    const result = this.encapResult;
    const data = this.txIn.data;
    const output = this.txOut;
    const reason = encapsulate(t, data, start, length, result);
    if (reason === null) {
      if (result.length > t.routeMtu && (data[result.start + 6] & 0x40) === 0) {
        this.send(a, sender, output);
        this.sendFragmented(t, sender, data, result.start, result.length, result.destination, length);
      } else {
        this.txInnerStart[output.count] = start;
        this.txInnerLength[output.count] = length;
        output.push(result.start, result.length, result.destination);
      }
      return;
    }
    t.drop(reason);
    if (reason === 'too-big') this.tooBig(a, data, start, length, result.mtu);
    else if (t.params.mode === 'vti' && VTI_UNREACHABLE.has(reason)) this.unreachable(a, data, start, length);
  }

  /**
   * Sends a batch of outer packets and counts each as sent (the inner bytes) or dropped; empties the
   * batch. txInnerStart/txInnerLength say where each one's inner packet is.
   */
  private send(a: Attachment, sender: PacketPort, output: PacketBatch): void {
    if (output.count === 0) return;
    const t = a.tunnel;
    sender.writeBatch(output);
    const data = output.data;
    for (let k = 0; k < output.count; k++) {
      if (output.errors[k] === 0) {
        t.stats.txPackets++;
        t.stats.txBytes += this.txInnerLength[k];
      } else {
        const errno = this.errnoName(output.errors[k]);
        if (errno === 'EMSGSIZE') this.pathMtuShrank(a, data, this.txInnerStart[k], this.txInnerLength[k]);
        else t.drop(sendFailure(errno));
      }
    }
    output.count = 0;
  }

  /**
   * Sends one outer packet as fragments of the route's MTU (ip_fragment). It counts as one packet, as on
   * the kernel's tunnel (the counters see the packet before fragmentation), dropped by the first error.
   */
  private sendFragmented(t: Tunnel, sender: PacketPort, data: Buffer, start: number, length: number, destination: number, innerLength: number): void {
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
    t.stats.txBytes += innerLength;
  }

  private receive(protocol: UnderlayProtocol, port: PacketPort): void {
    const receiveOne = this.receiveFunctions[protocol];
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
        this.pendingWrites.add(a, input, result.start, result.length);
      }
      this.pendingWrites.flushAll();
      if (n < input.capacity) return;
    }
  }

  /** Writes a tunnel's pending inner packets into its device and counts them. */
  private flush(a: Attachment): void {
    writeReceived(a.device, a.pending, a.tunnel.stats, (reason) => a.tunnel.drop(reason), 0, a.gro);
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

  /**
   * The socket refused a DF packet as larger than the path MTU: the kernel has lowered the route's MTU
   * since the tunnel last looked (an ICMP frag-needed about an earlier outer packet, which the kernel
   * applies to the route when the raw receive socket gets it; no route event says so). With the route
   * looked up again, the inner packet is answered as the kernel's tunnel answers it (tnl_update_pmtu):
   * frag-needed, or Packet Too Big when IPv6 can still have that MTU, and counted as too big.
   */
  private pathMtuShrank(a: Attachment, data: Buffer, start: number, length: number): void {
    const t = a.tunnel;
    this.routeStale(t);
    const mtu = t.routeMtu - tunnelOverhead(t.params);
    const version = data[start] >>> 4;
    if (length <= mtu || (version === 6 && mtu < IPV6_MIN_MTU)) {
      t.drop('tx-send-failed');
      return;
    }
    t.drop('too-big');
    this.tooBig(a, data, start, length, mtu);
  }

  /**
   * Host unreachable (IPv4) or address unreachable (IPv6) back to the inner sender, through the
   * device: what ipv4_link_failure / ip6_link_failure send when a vti finds no IPsec path.
   */
  private unreachable(a: Attachment, data: Buffer, start: number, length: number): void {
    this.replyToSender(a, data, start, length, (out) => buildHostUnreachable(data, start, length, out, 0));
  }

  /** frag-needed (IPv4) or Packet Too Big (IPv6) back to the inner sender, through the device. */
  private tooBig(a: Attachment, data: Buffer, start: number, length: number, mtu: number): void {
    // IPv6 has no MTU below 1280 to report (tnl_update_pmtu sends nothing then).
    if (data[start] >>> 4 === 6 && mtu < IPV6_MIN_MTU) return;
    this.replyToSender(a, data, start, length, (out) =>
      data[start] >>> 4 === 4
        ? buildFragNeeded(data, start, length, mtu, out, 0)
        : buildPacketTooBig(data, start, length, mtu, out, 0),
    );
  }

  /** An ICMP error `build` writes, into the device to the inner packet's sender, within the rate limit. */
  private replyToSender(a: Attachment, data: Buffer, start: number, length: number, build: (out: Buffer) => number): void {
    const version = data[start] >>> 4;
    const source = version === 4 ? data.readUInt32BE(start + 12) : data.toString('latin1', start + 8, start + 24);
    if (!this.limiter.allow(source)) return;
    const out = this.scratch;
    const len = build(out.data);
    if (len <= 0) return;
    out.count = 0;
    out.push(0, len);
    a.device.writeBatch(out);
  }
}
