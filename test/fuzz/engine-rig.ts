/**
 * The packet engine on memory ports (io/memory.ts), for property tests without root: one receive port
 * per outer protocol the test writes outer packets into, one send port per underlay binding the test
 * reads outer packets (and ICMP errors) from, and per tunnel a device whose host side the test writes
 * inner packets into and reads delivered packets from. The clock is the test's.
 *
 * ```
 *  test --wire[4|41|47]--> engine receivers        engine sender(link) --wire--> test (outer, ICMP)
 *  test <--host---- device(tunnel) ---- engine ---- device(tunnel) <--host---- test (inner)
 * ```
 */
import { Engine, type UnderlayProtocol } from '../../src/engine/engine.js';
import { MemoryPort } from '../../src/io/memory.js';
import { errnoName } from '../../src/io/native/index.js';
import { PacketBatch } from '../../src/io/port.js';
import type { DropReason } from '../../src/tunnel/drop.js';
import { TunnelTable } from '../../src/tunnel/table.js';
import { Tunnel } from '../../src/tunnel/tunnel.js';
import type { TunnelParams } from '../../src/tunnel/params.js';

export interface Device {
  tunnel: Tunnel;
  /** The engine's end: `setUp(false)` makes writes into the device fail as on a TUN that is down. */
  engineSide: MemoryPort;
  /** The kernel's end: write inner packets here, read delivered ones. */
  host: MemoryPort;
}

export class EngineRig {
  readonly table = new TunnelTable();
  readonly engine: Engine;
  clock = 0;
  readonly devices: Device[] = [];
  /** The test's end of each receive socket, and the engine's end (to see what is still queued). */
  private readonly receivers = new Map<number, { wire: MemoryPort; engineSide: MemoryPort }>();
  private readonly senders = new Map<number, { wire: MemoryPort; engineSide: MemoryPort }>();

  constructor(private readonly senderMtu = 65535) {
    this.engine = new Engine(
      this.table,
      {
        openReceiver: (protocol) => {
          const [wire, engineSide] = MemoryPort.pair([`wire${protocol}`, `rx${protocol}`], { queueLimit: 1 << 20 });
          this.receivers.set(protocol, { wire, engineSide });
          return engineSide;
        },
        openSender: (link) => {
          const [engineSide, wire] = MemoryPort.pair([`tx${link}`, `out${link}`], { mtu: this.senderMtu, queueLimit: 1 << 20 });
          this.senders.set(link, { wire, engineSide });
          return engineSide;
        },
        now: () => this.clock,
      },
      errnoName,
    );
  }

  /** Adds a tunnel (up or not) with its device and attaches it. */
  add(params: TunnelParams, up = true, routeMtu = 1500): Device {
    const tunnel = new Tunnel(params);
    tunnel.up = up;
    tunnel.routeMtu = routeMtu;
    tunnel.ifindex = 100 + this.devices.length;
    this.table.add(tunnel);
    const [engineSide, host] = MemoryPort.pair([`${params.name}-engine`, `${params.name}-host`], { queueLimit: 1 << 20 });
    this.engine.attach(tunnel, engineSide);
    const device = { tunnel, engineSide, host };
    this.devices.push(device);
    return device;
  }

  /** Writes outer packets into the receive socket of `protocol`, arriving on `ifindex`. */
  arrive(protocol: UnderlayProtocol, packets: readonly Uint8Array[], ifindex = 2): void {
    const port = this.receivers.get(protocol)?.wire;
    if (!port) throw new Error(`no receiver for protocol ${protocol}: no tunnel of it was attached`);
    port.ifindex = ifindex;
    writeAll(port, packets);
  }

  /** Writes inner packets into a tunnel's device, as the kernel routes them there. */
  send(device: Device, packets: readonly Uint8Array[]): void {
    writeAll(device.host, packets);
  }

  /** Lets the engine run until nothing is queued towards it. */
  async settle(): Promise<void> {
    const queued = (): number =>
      [...this.receivers.values()].reduce((n, r) => n + r.engineSide.queued, 0) +
      this.devices.reduce((n, d) => n + d.engineSide.queued, 0);
    for (let idle = 0; idle < 3; ) {
      await new Promise((resolve) => setImmediate(resolve));
      idle = queued() === 0 ? idle + 1 : 0;
    }
  }

  /** Packets the engine wrote into a device (delivered inner packets, ICMP errors for its senders). */
  delivered(device: Device): Buffer[] {
    return readAll(device.host);
  }

  /** Packets the engine sent into the underlay on binding `link` (outer packets, ICMP errors). */
  sent(link = 0): Buffer[] {
    const s = this.senders.get(link);
    return s ? readAll(s.wire) : [];
  }

  /** Every drop: per tunnel and uncharged, by reason. */
  drops(): Map<DropReason, number> {
    const total = new Map<DropReason, number>(this.engine.drops);
    for (const d of this.devices) for (const [reason, n] of d.tunnel.drops) total.set(reason, (total.get(reason) ?? 0) + n);
    return total;
  }

  close(): void {
    this.engine.close();
    for (const r of this.receivers.values()) r.wire.close();
    for (const s of this.senders.values()) s.wire.close();
    for (const d of this.devices) d.host.close();
  }
}

/** One batch for every copy in and out (the rig is single-threaded); slots fit any IPv4 packet. */
const scratch = new PacketBatch(16, 65536, 0);

function writeAll(port: MemoryPort, packets: readonly Uint8Array[]): void {
  const batch = scratch;
  for (let i = 0; i < packets.length; i += batch.capacity) {
    batch.count = 0;
    for (const p of packets.slice(i, i + batch.capacity)) {
      const at = batch.slotStart(batch.count);
      batch.data.set(p, at);
      batch.push(at, p.length);
    }
    port.writeBatch(batch);
  }
}

function readAll(port: MemoryPort): Buffer[] {
  const out: Buffer[] = [];
  const batch = scratch;
  for (;;) {
    const n = port.readBatch(batch);
    for (let i = 0; i < n; i++) out.push(Buffer.from(batch.packet(i)));
    if (n < batch.capacity) return out;
  }
}

/** Sum of a drop table. */
export function total(drops: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of drops.values()) n += v;
  return n;
}
