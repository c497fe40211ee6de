/**
 * The vxlan packet engine: joins each vxlan device's TAP port, the UDP sockets that receive VXLAN and
 * the raw socket that sends it, with the vxlan mode (tunnel/vxlan.ts) and FDB (tunnel/fdb.ts).
 *
 * Transmit (a device's TAP is readable):
 *   1. read a batch of Ethernet frames, each with HEADROOM free bytes in front;
 *   2. the destination MAC picks an FDB entry (else the default entry, else the frame is dropped);
 *      every remote of it gets one copy (head-end replication): the first in place, the others copied;
 *   3. for each copy the outer route (cached per remote) gives the source address, MTU and hop limit;
 *      a frame too big for that MTU less 50 also tells its sender the MTU (frag-needed or Packet Too Big
 *      into the TAP, where the kernel lowers the sender's path MTU: skb_tunnel_check_pmtu);
 *      the outer IPv4, UDP and VXLAN headers go in front; an outer packet over the route's MTU is
 *      fragmented when DF is clear (as the kernel's IP output does) and dropped as too big when set;
 *   4. the outer packets go out in batches on a raw IPPROTO_RAW socket (burrow writes the IPv4 and UDP
 *      headers itself, so that each flow gets its own hashed UDP source port); each is counted sent,
 *      or dropped by the errno the socket gave it.
 * Receive (a UDP socket is readable):
 *   1. read a batch of UDP payloads with their outer source addresses, from the one socket bound to
 *      the port that every device on that port shares (so a datagram to a port no device uses gets the
 *      kernel's own ICMP port unreachable);
 *   2. each is checked, matched to a device by VNI, learned from and checked again (receiveVxlan); drops
 *      are counted on the device or, before one is found, on the engine;
 *   3. the inner frames, grouped by device, are written into the TAPs in batches.
 * A UDP socket is open while at least one device on its port is up, as the kernel's vxlan socket is
 * opened by ndo_open. Going down flushes the device's dynamic FDB entries (vxlan_stop). One timer
 * ages the FDBs of the devices that are up (vxlan_cleanup).
 */
import { PacketBatch, type PacketPort } from '../io/port.js';
import { countDrop, type DropReason } from '../tunnel/drop.js';
import { HEADROOM } from '../tunnel/mode.js';
import { emptyStats } from '../tunnel/stats.js';
import { FDB_AGE_INTERVAL_MS, macKey, type FdbRemote } from '../tunnel/fdb.js';
import { ETHERTYPE_ARP, ETHERTYPE_VLAN } from '../wire/numbers.js';
import {
  encapsulateVxlan,
  flowHash,
  newVxlanDecapResult,
  newVxlanEncapResult,
  proxyArpTarget,
  receiveVxlan,
  writeProxyArpReply,
  vxlanDestination,
  vxlanSourcePort,
  writeVxlanPmtuNotice,
  VXLAN_OVERHEAD,
  VXLAN_PMTU_NOTICE_MAX,
  type VxlanDevice,
  type VxlanPath,
} from '../tunnel/vxlan.js';
import { ipv4SetFragmentUnchecked } from '../wire/ipv4.js';
import { isMulticastIpv4 } from '../wire/address.js';
import { BATCH_SIZE, SEGMENT_STORE, sendFailure, TX_OUT_CAPACITY, type EngineOptions } from './engine.js';
import { Prepared, Segmenter } from './segmenter.js';
import { Coalescing, PendingWrites, Senders, writeReceived } from './loops.js';
import { ETHERNET_HEADER_LENGTH } from '../wire/ethernet.js';

/** What the route to a remote is, as the daemon finds it (ip route get). */
export type VxlanRoute =
  | { kind: 'ok'; source: number; mtu: number; hopLimit: number; oif: number }
  | { kind: 'no-route' };

/** How the vxlan engine reaches the kernel; the daemon gives real sockets, tests give memory ports. */
export interface VxlanIo {
  /** A UDP socket bound to `port` on every local address, reporting each datagram's TOS (`batch.tos`). */
  openUdp(port: number): PacketPort;
  /** Joins or leaves an IPv4 multicast group on `link` with a socket openUdp gave. */
  membership(socket: PacketPort, group: number, link: number, join: boolean): void;
  /** A socket that sends complete IPv4 packets (burrow writes the header), bound to `link` if not 0. */
  openSender(link: number): PacketPort;
  /** The outer route to `dst`, from `local` if not 0, out of `link` if not 0. */
  route(dst: number, local: number, link: number): VxlanRoute;
  /** net.ipv4.ip_local_port_range: the source ports of `srcport 0 0`. */
  localPortRange(): readonly [number, number];
  /** The MAC of a complete neighbour entry for IPv4 `address` on device `ifindex`, or null (`proxy`). */
  neighbour(ifindex: number, address: number): Uint8Array | null;
  now(): number;
  /** Trouble that belongs to no packet (a port that could not be bound), for the log. */
  warn(message: string): void;
}

/** Room for the largest frame a TAP with TSO gives (18 with a VLAN tag + 40 + 65535) and the headroom. */
const SLOT_SIZE = 65600 + HEADROOM;
const BUDGET = 4;

interface Attachment {
  device: VxlanDevice;
  tap: PacketPort;
  /** Inner frames waiting to be written into the TAP (entries point into the receive batch). */
  pending: PacketBatch;
  gro: Coalescing | null;
}

interface UdpPort {
  /** The devices on this port by VNI (up or not: the receive path checks). */
  readonly table: Map<number, VxlanDevice>;
  socket: PacketPort | null;
  /** Multicast groups joined on the socket: `group@link` -> the devices that want it. */
  readonly groups: Map<string, Set<VxlanDevice>>;
}

export class VxlanEngine {
  /** Drops not charged to a device (before the VNI found one), by reason. */
  readonly drops = new Map<DropReason, number>();
  private readonly unchargedStats = emptyStats();
  private readonly attached = new Map<VxlanDevice, Attachment>();
  private readonly ports = new Map<number, UdpPort>();
  private readonly senders = new Senders((link) => this.io.openSender(link));
  /** link -> remote address -> route (or the drop it means), until routes or addresses change. */
  private readonly routes = new Map<number, Map<number, VxlanPath | DropReason>>();
  private readonly rxIn = new PacketBatch(BATCH_SIZE, SLOT_SIZE, 0, true);
  private readonly txIn = new PacketBatch(BATCH_SIZE, SLOT_SIZE, HEADROOM, true, SEGMENT_STORE);
  /** Outer packets built in place in txIn (and in its segment store). */
  private readonly txOut = PacketBatch.forWriting(TX_OUT_CAPACITY);
  private readonly segmenter = new Segmenter();
  /** Copies for the second and further remotes, and fragments after the first: one slot each. */
  private readonly txCopies = new PacketBatch(BATCH_SIZE, SLOT_SIZE, HEADROOM, true);
  /** Inner bytes each output entry counts when sent (0 for fragments after the first). */
  private readonly outCounts = new Uint32Array(TX_OUT_CAPACITY);
  /** One slot for the path MTU notices written into a device. */
  private readonly notice = new PacketBatch(1, VXLAN_PMTU_NOTICE_MAX, 0);
  /** One slot for the answers `proxy` writes into a device. */
  private readonly reply = new PacketBatch(1, 128, 0);
  /** A one-entry view for sending entries whose remotes need different senders. */
  private readonly single = PacketBatch.forWriting(1);
  private readonly copyCounts = new Uint32Array(BATCH_SIZE);
  private readonly encapResult = newVxlanEncapResult();
  private readonly decapResult = newVxlanDecapResult();
  private readonly pendingWrites = new PendingWrites<Attachment>((a) => this.flush(a));
  private readonly hashSeed = (Math.random() * 0x1_0000_0000) >>> 0;
  private fragmentId = 1 + Math.floor(Math.random() * 0xfffe);
  private ageingTimer: NodeJS.Timeout | null = null;
  private ageingAt = Infinity;
  private closed = false;

  constructor(
    private readonly io: VxlanIo,
    private readonly errnoName: (errno: number) => string,
    private readonly options: EngineOptions = {},
  ) {}

  /** Starts moving frames for a device over its TAP port. */
  attach(device: VxlanDevice, tap: PacketPort): void {
    const gro = this.options.gro === true && tap.vnetHeader === true ? new Coalescing(BATCH_SIZE, ETHERNET_HEADER_LENGTH) : null;
    const attachment: Attachment = { device, tap, pending: PacketBatch.forWriting(BATCH_SIZE), gro };
    this.attached.set(device, attachment);
    let port = this.ports.get(device.params.dstPort);
    if (!port) this.ports.set(device.params.dstPort, (port = { table: new Map(), socket: null, groups: new Map() }));
    port.table.set(device.params.vni, device);
    tap.onReadable(() => this.transmit(attachment));
    this.setUp(device, device.up);
  }

  /** Stops a device's traffic and closes its TAP port; closes a socket no device needs any more. */
  detach(device: VxlanDevice): void {
    const attachment = this.attached.get(device);
    if (!attachment) return;
    this.attached.delete(device);
    attachment.tap.close();
    const port = this.ports.get(device.params.dstPort);
    if (port && port.table.get(device.params.vni) === device) port.table.delete(device.params.vni);
    this.refreshSocket(device.params.dstPort);
    if (port && port.table.size === 0) this.ports.delete(device.params.dstPort);
  }

  isAttached(device: VxlanDevice): boolean {
    return this.attached.has(device);
  }

  /**
   * The device went up or down (the daemon follows the kernel's link events): down flushes its
   * dynamic FDB entries; the port's socket is open while some device on it is up.
   */
  setUp(device: VxlanDevice, up: boolean): void {
    if (device.up && !up) device.fdb.flushDynamic();
    device.up = up;
    this.refreshSocket(device.params.dstPort);
    this.scheduleAgeing();
  }

  /** Forgets the cached outer routes (routes or addresses changed). */
  invalidateRoutes(): void {
    this.routes.clear();
  }

  /** Drops not charged to any device. */
  get unchargedDrops(): ReadonlyMap<DropReason, number> {
    return this.drops;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ageingTimer) clearTimeout(this.ageingTimer);
    this.ageingTimer = null;
    for (const a of this.attached.values()) a.tap.close();
    for (const p of this.ports.values()) p.socket?.close();
    this.senders.close();
    this.attached.clear();
    this.ports.clear();
  }

  // ----- sockets ----------------------------------------------------------------------------------

  private refreshSocket(udpPort: number): void {
    const port = this.ports.get(udpPort);
    if (!port || this.closed) return;
    const wanted = [...port.table.values()].some((d) => d.up && this.attached.has(d));
    if (!wanted) port.groups.clear();
    if (wanted && port.socket === null) {
      let socket: PacketPort;
      try {
        socket = this.io.openUdp(udpPort);
      } catch (error) {
        // Another program holds the port (a kernel vxlan, say): the devices on it receive nothing.
        this.io.warn(`vxlan: cannot open UDP port ${udpPort}: ${(error as Error).message}`);
        return;
      }
      socket.onReadable(() => this.receive(socket, port));
      port.socket = socket;
    } else if (!wanted && port.socket !== null) {
      port.socket.close();
      port.socket = null;
    }
    if (port.socket !== null) this.refreshGroups(port, port.socket);
  }

  /**
   * vxlan_multicast_join / leave: a device with a `group` has it joined on its `dev` while it is up;
   * devices sharing a group and device share the membership.
   */
  private refreshGroups(port: UdpPort, socket: PacketPort): void {
    const wanted = new Map<string, Set<VxlanDevice>>();
    for (const d of port.table.values()) {
      if (!d.up || !this.attached.has(d) || !isMulticastIpv4(d.params.remote)) continue;
      const key = `${d.params.remote}@${d.params.link}`;
      if (!wanted.has(key)) wanted.set(key, new Set());
      wanted.get(key)!.add(d);
    }
    for (const key of port.groups.keys()) {
      if (wanted.has(key)) continue;
      const [group, link] = key.split('@').map(Number);
      try {
        this.io.membership(socket, group, link, false);
      } catch (error) {
        this.io.warn(`vxlan: cannot leave group: ${(error as Error).message}`);
      }
      port.groups.delete(key);
    }
    for (const [key, devices] of wanted) {
      if (!port.groups.has(key)) {
        const [group, link] = key.split('@').map(Number);
        try {
          this.io.membership(socket, group, link, true);
        } catch (error) {
          this.io.warn(`vxlan: cannot join group: ${(error as Error).message}`);
          continue;
        }
      }
      port.groups.set(key, devices);
    }
  }

  private sender(link: number): PacketPort {
    return this.senders.get(link);
  }

  /** The path to a remote, from the cache or asked of the daemon once (udp_tunnel_dst_lookup). */
  private path(device: VxlanDevice, remote: FdbRemote): VxlanPath | DropReason {
    let byDst = this.routes.get(remote.ifindex);
    if (!byDst) this.routes.set(remote.ifindex, (byDst = new Map()));
    let path = byDst.get(remote.ip);
    if (path === undefined) {
      const route = this.io.route(remote.ip, device.params.local, remote.ifindex);
      if (route.kind !== 'ok') path = 'no-route';
      else if (route.oif === device.ifindex) path = 'dead-loop';
      else path = { source: route.source, mtu: route.mtu, hopLimit: route.hopLimit };
      byDst.set(remote.ip, path);
    }
    return path;
  }

  // ----- transmit ---------------------------------------------------------------------------------

  private transmit(a: Attachment): void {
    const d = a.device;
    const input = this.txIn;
    const range = this.io.localPortRange();
    const offloads = a.tap.vnetHeader === true;
    const segmenter = this.segmenter;
    for (let round = 0; round < BUDGET; round++) {
      const n = a.tap.readBatch(input);
      if (n === 0) return;
      const now = this.io.now();
      this.txOut.borrow(input);
      this.txCopies.count = 0;
      segmenter.reset(input);
      for (let i = 0; i < n; i++) {
        const start = input.offsets[i];
        const length = input.lengths[i];
        if (offloads) {
          const kind = segmenter.prepare(input, i, l3Offset(input.data, start, length));
          if (kind === Prepared.Superframe) {
            for (let k = 0; k < segmenter.frame.segments; k++) {
              // Room for this segment and its fragments; else send what is queued first.
              if (!segmenter.hasRoom() || this.txOut.count + 8 > this.txOut.capacity) {
                this.flushOut(d);
                this.flushCopies(d);
                this.txOut.count = 0;
                segmenter.restart();
              }
              const at = segmenter.cut(input.data, start, k);
              this.transmitFrame(a, at, segmenter.lastLength, now, range);
            }
            continue;
          }
          if (kind !== Prepared.Plain) {
            d.drop('tx-malformed');
            continue;
          }
        }
        this.transmitFrame(a, start, length, now, range);
      }
      this.flushOut(d);
      this.flushCopies(d);
      if (n < input.capacity) return;
    }
  }

  /** One Ethernet frame in txIn's buffer: to each remote its FDB entry names (transmit's steps 2-3). */
  private transmitFrame(a: Attachment, start: number, length: number, now: number, range: readonly [number, number]): void {
    const d = a.device;
    const input = this.txIn;
    if (d.params.proxy && length >= 14 && ((input.data[start + 12] << 8) | input.data[start + 13]) === ETHERTYPE_ARP) {
      this.proxyArp(a, input.data, start, length);
      return;
    }
    const entry = vxlanDestination(d, input.data, start, length, now);
    if (typeof entry === 'string') {
      d.drop(entry);
      return;
    }
    const sourcePort = vxlanSourcePort(flowHash(input.data, start, length, this.hashSeed), d.params.srcPortMin, d.params.srcPortMax, range);
    let inPlace = true;
    for (let r = 0; r < entry.remotes.length; r++) {
      const remote = entry.remotes[r];
      if (remote.ip === 0) {
        d.drop('no-fdb-entry');
        continue;
      }
      const path = this.path(d, remote);
      if (typeof path === 'string') {
        d.drop(path);
        continue;
      }
      if (inPlace) {
        inPlace = false;
        this.pmtuNotice(a, input.data, start, length, path);
        this.emit(d, input, start, length, remote, path, sourcePort, false);
      } else {
        if (this.txCopies.count === this.txCopies.capacity) this.flushCopies(d);
        const slot = this.txCopies.slotStart(this.txCopies.count) + HEADROOM;
        input.data.copy(this.txCopies.data, slot, start, start + length);
        this.emit(d, this.txCopies, slot, length, remote, path, sourcePort, true);
      }
    }
  }

  /**
   * Encapsulates one copy (in `batch`'s buffer at `start`) and queues it: in place on txOut, or as the
   * next txCopies entry when `copy`. Fragments after the first always go to txCopies.
   */
  private emit(
    d: VxlanDevice,
    batch: PacketBatch,
    start: number,
    length: number,
    remote: FdbRemote,
    path: VxlanPath,
    sourcePort: number,
    copy: boolean,
  ): void {
    const out = this.encapResult;
    encapsulateVxlan(d, batch.data, start, length, remote, path, sourcePort, out);
    const counted = length - 14;
    if (out.length <= path.mtu) {
      this.queue(copy, out.start, out.length, remote, counted);
      return;
    }
    if (out.df) {
      d.drop('too-big');
      return;
    }
    // The kernel's ip_fragment: 8-byte aligned pieces of the payload, each behind a copy of the header.
    const piece = (path.mtu - 20) & ~7;
    const id = this.nextFragmentId();
    const data = batch.data;
    const total = out.length - 20;
    ipv4SetFragmentUnchecked(data, out.start, 20 + piece, id, true, 0);
    this.queue(copy, out.start, 20 + piece, remote, counted);
    for (let at = piece; at < total; at += piece) {
      const size = Math.min(piece, total - at);
      if (this.txCopies.count === this.txCopies.capacity) this.flushCopies(d);
      const slot = this.txCopies.slotStart(this.txCopies.count) + HEADROOM;
      data.copy(this.txCopies.data, slot, out.start, out.start + 20);
      data.copy(this.txCopies.data, slot + 20, out.start + 20 + at, out.start + 20 + at + size);
      ipv4SetFragmentUnchecked(this.txCopies.data, slot, 20 + size, id, at + size < total, at);
      this.queue(true, slot, 20 + size, remote, 0);
    }
  }

  /**
   * skb_tunnel_check_pmtu: a frame whose IP packet is larger than the path to its (first) remote allows
   * tells its sender the MTU, with frag-needed or Packet Too Big written into the TAP; it is sent anyway.
   */
  private pmtuNotice(a: Attachment, data: Buffer, start: number, length: number, path: VxlanPath): void {
    if (length - ETHERNET_HEADER_LENGTH <= path.mtu - VXLAN_OVERHEAD) return;
    const out = this.notice;
    out.count = 0;
    const n = writeVxlanPmtuNotice(data, start, length, path.mtu, out.data, 0);
    if (n === 0) return;
    out.push(0, n);
    a.tap.writeBatch(out);
  }

  /** arp_reduce: answers an ARP request from the neighbour table, into the device; never sends it on. */
  private proxyArp(a: Attachment, data: Buffer, start: number, length: number): void {
    const target = proxyArpTarget(data, start, length);
    if (target < 0) return;
    const mac = this.io.neighbour(a.device.ifindex, target);
    if (mac === null) return;
    // A neighbour the FDB places behind no remote is local to the bridge: the kernel lets it answer itself.
    const entry = a.device.fdb.get(macKey(mac));
    if (entry !== undefined && entry.remotes[0].ip === 0) return;
    const out = this.reply;
    out.count = 0;
    out.push(0, writeProxyArpReply(data, start, mac, out.data, 0));
    a.tap.writeBatch(out);
  }

  private queue(copy: boolean, offset: number, length: number, remote: FdbRemote, counted: number): void {
    const batch = copy ? this.txCopies : this.txOut;
    const counts = copy ? this.copyCounts : this.outCounts;
    counts[batch.count] = counted;
    batch.push(offset, length, remote.ip, 0);
    // A write batch has no use for `ifindexes`: it says here which sender (`via`) the entry needs.
    batch.ifindexes[batch.count - 1] = remote.ifindex;
  }

  private nextFragmentId(): number {
    this.fragmentId = (this.fragmentId + 1) & 0xffff || 1;
    return this.fragmentId;
  }

  private flushOut(d: VxlanDevice): void {
    this.send(d, this.txOut, this.outCounts);
  }

  private flushCopies(d: VxlanDevice): void {
    this.send(d, this.txCopies, this.copyCounts);
    this.txCopies.count = 0;
  }

  /** Sends a batch, grouped by the sender each entry's remote needs, and counts the outcome. */
  private send(d: VxlanDevice, batch: PacketBatch, counts: Uint32Array): void {
    const count = batch.count;
    if (count === 0) return;
    const link = batch.ifindexes[0];
    let uniform = true;
    for (let k = 1; k < count; k++) if (batch.ifindexes[k] !== link) uniform = false;
    if (uniform) {
      this.sender(link).writeBatch(batch);
    } else {
      // Rare: remotes via different devices in one batch. Send entry by entry through a one-entry view.
      const one = this.single;
      one.data = batch.data;
      for (let k = 0; k < count; k++) {
        one.count = 0;
        one.push(batch.offsets[k], batch.lengths[k], batch.addrs[k], 0);
        this.sender(batch.ifindexes[k]).writeBatch(one);
        batch.errors[k] = one.errors[0];
      }
    }
    const stats = d.stats;
    for (let k = 0; k < count; k++) {
      if (counts[k] === 0) continue;
      if (batch.errors[k] === 0) {
        stats.txPackets++;
        stats.txBytes += counts[k];
      } else {
        d.drop(sendFailure(this.errnoName(batch.errors[k])));
      }
    }
    batch.count = 0;
  }

  // ----- receive ----------------------------------------------------------------------------------

  private receive(socket: PacketPort, port: UdpPort): void {
    const input = this.rxIn;
    const result = this.decapResult;
    for (let round = 0; round < BUDGET; round++) {
      const n = socket.readBatch(input);
      if (n === 0) return;
      const now = this.io.now();
      const data = input.data;
      for (let i = 0; i < n; i++) {
        const reason = receiveVxlan(port.table, data, input.offsets[i], input.lengths[i], input.addrs[i], input.tos[i], now, result);
        const d = result.device;
        if (reason !== null) {
          if (d) d.drop(reason);
          else countDrop(this.unchargedStats, this.drops, reason);
          continue;
        }
        const a = d ? this.attached.get(d) : undefined;
        if (!a) continue;
        this.pendingWrites.add(a, input, result.start, result.length);
      }
      this.pendingWrites.flushAll();
      if (n < input.capacity) return;
    }
  }

  /** Writes a device's pending frames into its TAP and counts them (bytes without the Ethernet header). */
  private flush(a: Attachment): void {
    writeReceived(a.tap, a.pending, a.device.stats, (reason) => a.device.drop(reason), ETHERNET_HEADER_LENGTH, a.gro);
  }

  // ----- ageing -----------------------------------------------------------------------------------

  /**
   * vxlan_cleanup's timer: armed 10 s after a device comes up, then at the earliest expiry any up
   * device's FDB reports, at least every 10 s. Entries learned meanwhile wait for the next look, as in
   * the kernel, so a dynamic entry goes between `ageing` and `ageing` + 10 s after its last refresh.
   */
  private scheduleAgeing(at = this.io.now() + FDB_AGE_INTERVAL_MS): void {
    if (this.closed) return;
    const anyUp = [...this.attached.keys()].some((d) => d.up);
    if (!anyUp) {
      if (this.ageingTimer) clearTimeout(this.ageingTimer);
      this.ageingTimer = null;
      this.ageingAt = Infinity;
      return;
    }
    if (this.ageingTimer && this.ageingAt <= at) return;
    if (this.ageingTimer) clearTimeout(this.ageingTimer);
    this.ageingAt = at;
    this.ageingTimer = setTimeout(() => this.age(), Math.max(0, at - this.io.now()));
    this.ageingTimer.unref();
  }

  private age(): void {
    this.ageingTimer = null;
    this.ageingAt = Infinity;
    const now = this.io.now();
    let next = now + FDB_AGE_INTERVAL_MS;
    for (const d of this.attached.keys()) if (d.up) next = Math.min(next, d.fdb.expire(now));
    this.scheduleAgeing(next);
  }
}

/** Where the IP header of an Ethernet frame starts: after one VLAN tag if it has one. */
function l3Offset(bytes: Uint8Array, start: number, length: number): number {
  return length >= 18 && ((bytes[start + 12] << 8) | bytes[start + 13]) === ETHERTYPE_VLAN ? 18 : ETHERNET_HEADER_LENGTH;
}
