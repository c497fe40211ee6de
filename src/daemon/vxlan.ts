/**
 * The daemon's vxlan devices: `ip link add ... type vxlan` and `bridge fdb` turned into TAP devices,
 * FDB changes, state and traffic (engine/vxlan.ts).
 *
 * Each device is a persistent TAP named as the user asked, with the random locally administered MAC
 * the TAP driver gives it (as vxlan_setup's eth_hw_addr_random does), and the MTU the kernel would give
 * the real vxlan device. The state file holds each device's configuration and the FDB entries a user
 * made (and the default entry), written before a change is acknowledged; learned entries are learned
 * again after a restart. The kernel's link events say when a device goes up or down (the UDP socket
 * opens and closes with it, and going down flushes the dynamic entries), and address or route events
 * make the engine forget the outer routes it cached.
 */
import fs from 'node:fs';
import { BurrowError } from '../errors.js';
import type { VxlanEngine, VxlanIo } from '../engine/vxlan.js';
import { ifIndexToName } from '../io/native/index.js';
import { routeGet } from '../io/netlink/route.js';
import { RawIpv4Socket } from '../io/raw-socket.js';
import { Sysctl } from '../io/sysctl.js';
import { UdpSocket } from '../io/udp-socket.js';
import { linkByIndex, linkByName, linkDel, linkSetAddress, linkSetMtu, linkSetTxQueueLen, linkSetUp, type Link } from '../io/netlink/link.js';
import type { NetlinkEvent, NetlinkHandle } from '../io/netlink/socket.js';
import { TunDevice } from '../io/tun.js';
import type { DeviceFacts, FdbCommand, FdbEntryInfo, LinkAddOptions, LinkInfo } from '../control/protocol.js';
import {
  macBytes,
  macKey,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  type FdbEntry,
  type FdbRequest,
} from '../tunnel/fdb.js';
import {
  DEFAULT_LOCAL_PORT_RANGE,
  validateVxlanParams,
  VXLAN_DEFAULT_AGEING,
  VXLAN_DEFAULT_PORT,
  vxlanDefaultMtu,
  VxlanDevice,
  type VxlanParams,
} from '../tunnel/vxlan.js';
import { parseMac, formatMac } from '../wire/ethernet.js';
import type { Logger } from './log.js';
import { saveState, type DaemonState, type SavedVxlan } from './state.js';
import { adoptEach, applyOffloads, notOurs, offloadOptions, reopenDevice } from './devices.js';
import { NO_OFFLOADS, type OffloadSet } from './offload.js';

const NLM_FLAGS: Record<Exclude<FdbCommand, 'del'>, number> = {
  add: NLM_F_CREATE | NLM_F_EXCL,
  append: NLM_F_CREATE | NLM_F_APPEND,
  replace: NLM_F_CREATE | NLM_F_REPLACE,
};

export class VxlanService {
  private readonly devices = new Map<string, VxlanDevice>();

  constructor(
    private readonly engine: VxlanEngine,
    private readonly nl: NetlinkHandle,
    private readonly stateFile: string,
    private readonly state: DaemonState,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly offloads: OffloadSet = NO_OFFLOADS,
  ) {}

  get size(): number {
    return this.devices.size;
  }

  // ----- requests -------------------------------------------------------------------------------

  /** RTM_NEWLINK for a new vxlan device (vxlan_newlink, __vxlan_dev_create). */
  add(requested: VxlanParams, options: LinkAddOptions): void {
    const params = this.plan(requested);
    let tap: TunDevice;
    try {
      tap = TunDevice.create(params.name === '' ? 'vxlan%d' : params.name, { ...offloadOptions(this.offloads, { kind: 'tap' }), persist: true });
      applyOffloads(tap, this.offloads, this.log);
    } catch (error) {
      // IFF_TUN_EXCL: the name is taken (by any device), which RTM_NEWLINK answers with EEXIST.
      if (error instanceof BurrowError && error.code === 'EBUSY') throw new BurrowError('EEXIST');
      throw error;
    }
    params.name = tap.name;
    const device = new VxlanDevice(params);
    try {
      const link = linkByName(this.nl, params.name);
      device.ifindex = link.index;
      if (options.address !== undefined) linkSetAddress(this.nl, link.index, macOrThrow(options.address));
      if (options.txqlen !== undefined) linkSetTxQueueLen(this.nl, link.index, options.txqlen);
      linkSetMtu(this.nl, link.index, this.mtuFor(params, options.mtu));
      device.macKey = macKey(linkByIndex(this.nl, link.index).address ?? new Uint8Array(6));
    } catch (error) {
      tap.setPersist(false);
      tap.close();
      throw error;
    }
    const remote = device.defaultRemote();
    if (remote) device.fdb.addDefault(remote, this.now());
    this.devices.set(params.name, device);
    this.engine.attach(device, tap);
    this.watch(device, tap);
    this.save();
    if (options.up) linkSetUp(this.nl, device.ifindex);
    this.log.info(`added vxlan ${params.name} (id ${params.vni}, port ${params.dstPort})`);
  }

  /** The kernel's defaults and checks for a new device; BurrowErrors carry its extended-ack texts. */
  private plan(requested: VxlanParams): VxlanParams {
    const p: VxlanParams = { ...requested };
    if (p.dstPort === 0) p.dstPort = VXLAN_DEFAULT_PORT;
    if (p.ageing === 0) p.ageing = VXLAN_DEFAULT_AGEING;
    const invalid = validateVxlanParams(p);
    if (invalid) throw invalid;
    if (p.link !== 0) {
      try {
        linkByIndex(this.nl, p.link);
      } catch {
        throw BurrowError.withExtack('ENODEV', 'Invalid local interface, device not found');
      }
    }
    for (const d of this.devices.values()) {
      if (d.params.vni === p.vni && d.params.dstPort === p.dstPort) {
        throw BurrowError.withExtack('EEXIST', 'A VXLAN device with the specified VNI already exists');
      }
    }
    return p;
  }

  /** vxlan_config_apply: `dev`'s MTU less 50, else 1500; a given MTU is kept, capped to that. */
  private mtuFor(p: VxlanParams, requested: number | undefined): number {
    const linkMtu = p.link !== 0 ? linkByIndex(this.nl, p.link).mtu : null;
    const max = linkMtu === null ? 65535 : vxlanDefaultMtu(linkMtu);
    if (requested !== undefined) return Math.min(requested, max);
    return vxlanDefaultMtu(linkMtu);
  }

  del(name: string): void {
    const device = this.mustGet(name);
    this.remove(device);
    try {
      linkDel(this.nl, device.ifindex);
    } catch (error) {
      if (!(error instanceof BurrowError && error.code === 'ENODEV')) throw error;
    }
    this.log.info(`deleted vxlan ${name}`);
  }

  get(name: string): LinkInfo {
    return this.info(this.mustGet(name));
  }

  list(): LinkInfo[] {
    return [...this.devices.values()].sort((a, b) => a.ifindex - b.ifindex).map((d) => this.info(d));
  }

  /** Every FDB entry of every device, devices in ifindex order, entries newest first. */
  fdbList(): FdbEntryInfo[] {
    const now = this.now();
    const out: FdbEntryInfo[] = [];
    for (const d of [...this.devices.values()].sort((a, b) => a.ifindex - b.ifindex)) {
      for (const e of d.fdb.list()) out.push(entryInfo(d, e, now));
    }
    return out;
  }

  /** RTM_NEWNEIGH / RTM_DELNEIGH on a vxlan device; refusals carry the kernel's errno. */
  fdbModify(name: string, command: FdbCommand, request: FdbRequest): void {
    const device = this.devices.get(name);
    // Other devices take no fdb entries from burrow; the kernel says EOPNOTSUPP for devices without them.
    if (!device) throw notOurs(this.nl, name);
    const fdb = device.fdb;
    let refused;
    if (command === 'del') {
      refused = fdb.delete(request);
    } else {
      // vxlan_fdb_add: the family of dst must be the device's (IPv4 here; the CLI refuses IPv6 first).
      refused = fdb.update({ ...request, nlFlags: NLM_FLAGS[command] }, this.now());
    }
    if (refused === 'EOPNOTSUPP' && command === 'replace') {
      throw BurrowError.withExtack('EOPNOTSUPP', 'Cannot replace non-unicast fdb entries');
    }
    if (refused !== null) throw new BurrowError(refused);
    this.save();
  }

  /** Removes every device (`burrow daemon stop --flush`). */
  flush(): void {
    for (const name of [...this.devices.keys()]) {
      try {
        this.del(name);
      } catch (error) {
        this.log.error(`flush: could not delete ${name}: ${(error as Error).message}`);
      }
    }
  }

  // ----- adoption -------------------------------------------------------------------------------

  /** Takes over the devices of the state file: attaches to each TAP, or makes it again when gone. */
  adopt(saved: readonly SavedVxlan[]): void {
    adoptEach(saved, 'vxlan', this.log, (s) => this.adoptOne(s));
    this.save();
  }

  private adoptOne(saved: SavedVxlan): void {
    const params = saved.params;
    const { device: tap, recreated } = reopenDevice(params.name, offloadOptions(this.offloads, { kind: 'tap' }));
    applyOffloads(tap, this.offloads, this.log);
    const device = new VxlanDevice(params);
    const link = linkByName(this.nl, params.name);
    device.ifindex = link.index;
    device.macKey = macKey(link.address ?? new Uint8Array(6));
    if (recreated) linkSetMtu(this.nl, link.index, this.mtuFor(params, undefined));
    device.fdb.restore(saved.fdb, this.now());
    device.up = link.flags.up;
    this.devices.set(params.name, device);
    this.engine.attach(device, tap);
    this.watch(device, tap);
    this.log.info(`${recreated ? 're-created' : 'adopted'} vxlan ${params.name}`);
  }

  // ----- kernel events --------------------------------------------------------------------------

  onNetlinkEvent(event: NetlinkEvent): void {
    switch (event.type) {
      case 'link': {
        const device = this.byIndex(event.link.index);
        if (device && event.action === 'del') {
          this.log.info(`device ${device.name} was deleted; removing the vxlan`);
          this.remove(device);
        } else if (device) {
          if (event.link.address) device.macKey = macKey(event.link.address);
          if (device.up !== event.link.flags.up) this.engine.setUp(device, event.link.flags.up);
        }
        this.engine.invalidateRoutes();
        break;
      }
      case 'addr':
      case 'route':
        this.engine.invalidateRoutes();
        break;
      case 'resync':
        for (const d of [...this.devices.values()]) {
          try {
            const up = linkByIndex(this.nl, d.ifindex).flags.up;
            if (up !== d.up) this.engine.setUp(d, up);
          } catch {
            this.remove(d);
          }
        }
        this.engine.invalidateRoutes();
        break;
      case 'error':
        break;
    }
  }

  // ----- helpers --------------------------------------------------------------------------------

  private info(d: VxlanDevice): LinkInfo {
    return {
      params: d.params,
      ifindex: d.ifindex,
      stats: { ...d.stats },
      drops: Object.fromEntries(d.drops),
      device: deviceFacts(linkByIndex(this.nl, d.ifindex)),
    };
  }

  private watch(d: VxlanDevice, tap: TunDevice): void {
    tap.onError((error) => {
      if (error.fatal && this.devices.get(d.name) === d) {
        this.log.info(`device ${d.name} is gone (${error.code}); removing the vxlan`);
        this.remove(d);
      }
    });
  }

  private remove(d: VxlanDevice): void {
    if (this.devices.get(d.name) !== d) return;
    this.devices.delete(d.name);
    this.engine.detach(d);
    this.save();
  }

  private mustGet(name: string): VxlanDevice {
    const d = this.devices.get(name);
    if (d) return d;
    throw notOurs(this.nl, name);
  }

  private byIndex(index: number): VxlanDevice | undefined {
    for (const d of this.devices.values()) if (d.ifindex === index) return d;
    return undefined;
  }

  private save(): void {
    this.state.vxlan = [...this.devices.values()].map((d) => ({
      params: d.params,
      fdb: d.fdb.persistent().map((e) => ({ mac: e.mac, state: e.state, flags: e.flags, remotes: e.remotes })),
    }));
    saveState(this.stateFile, this.state);
  }
}

function macOrThrow(text: string): Uint8Array {
  const mac = parseMac(text);
  if (mac === null) throw new BurrowError('EINVAL', `bad address ${text}`);
  return mac;
}

function entryInfo(d: VxlanDevice, e: FdbEntry, now: number): FdbEntryInfo {
  return {
    dev: d.name,
    ifindex: d.ifindex,
    mac: formatMac(macBytes(e.mac)),
    state: e.state,
    flags: e.flags & 0xff,
    remotes: e.remotes.map((r) => ({ ...r })),
    devicePort: d.params.dstPort,
    deviceVni: d.params.vni,
    used: Math.max(0, Math.floor((now - e.used) / 1000)),
    updated: Math.max(0, Math.floor((now - e.updated) / 1000)),
  };
}

/** What `ip link show` prints of a device, from its RTM_NEWLINK. */
export function deviceFacts(link: Link): DeviceFacts {
  return {
    flags: link.flags.raw,
    mtu: link.mtu,
    qdisc: link.qdisc ?? 'noop',
    operstate: link.operstate,
    linkmode: link.linkmode ?? 0,
    group: link.group ?? 0,
    txqlen: link.txqlen ?? 0,
    address: link.address ? formatMac(link.address) : '00:00:00:00:00:00',
    broadcast: link.broadcast ? formatMac(link.broadcast) : 'ff:ff:ff:ff:ff:ff',
    promiscuity: link.promiscuity ?? 0,
    allmulti: link.allmulti ?? 0,
    minMtu: link.minMtu ?? 0,
    maxMtu: link.maxMtu ?? 0,
    addrGenMode: link.addrGenMode ?? null,
    numTxQueues: link.numTxQueues ?? 1,
    numRxQueues: link.numRxQueues ?? 1,
    gsoMaxSize: link.gsoMaxSize ?? 65536,
    gsoMaxSegs: link.gsoMaxSegs ?? 65535,
    tsoMaxSize: link.tsoMaxSize ?? 65536,
    tsoMaxSegs: link.tsoMaxSegs ?? 65535,
    groMaxSize: link.groMaxSize ?? 65536,
    carrierChanges: link.carrierChanges ?? 0,
  };
}

/**
 * The kernel as the vxlan engine needs it: UDP sockets to receive on, raw sockets to send with, the
 * outer route to each remote (`ip route get`, asked once per remote until routes change), and the
 * namespace's port range and default TTL (sysctls, read at most once a second).
 */
export function systemVxlanIo(nl: NetlinkHandle, log: Logger): VxlanIo {
  const sysctl = new Sysctl();
  let readAt = -Infinity;
  let range: readonly [number, number] = DEFAULT_LOCAL_PORT_RANGE;
  let defaultTtl = 64;
  const refresh = (): void => {
    const now = performance.now();
    if (now - readAt < 1000) return;
    readAt = now;
    try {
      const [low, high] = sysctl.read('net.ipv4.ip_local_port_range').trim().split(/\s+/).map(Number);
      if (Number.isInteger(low) && Number.isInteger(high)) range = [low, high];
      defaultTtl = sysctl.readInt('net.ipv4.ip_default_ttl');
    } catch {
      // keep the last values
    }
  };
  return {
    openUdp: (port) => UdpSocket.open({ port, receiveTos: true }),
    membership: (socket, group, link, join) => (socket as UdpSocket).setMembership(group, link, join),
    openSender: (link) => RawIpv4Socket.open({ protocol: 255, ...(link !== 0 ? { device: ifIndexToName(link) } : {}) }),
    route(dst, local, link) {
      refresh();
      try {
        const r = routeGet(nl, dst, { ...(local !== 0 ? { src: local } : {}), ...(link !== 0 ? { oif: link } : {}) });
        if (r.type !== 'unicast' && r.type !== 'local' && r.type !== 'multicast') return { kind: 'no-route' };
        const oif = r.oif ?? 0;
        const source = local !== 0 ? local : typeof r.prefsrc === 'number' ? r.prefsrc : 0;
        const mtu = r.mtu ?? (oif !== 0 ? linkByIndex(nl, oif).mtu : 1500);
        return { kind: 'ok', source, mtu, hopLimit: r.hoplimit ?? defaultTtl, oif };
      } catch (error) {
        if (!(error instanceof BurrowError)) throw error;
        return { kind: 'no-route' };
      }
    },
    localPortRange() {
      refresh();
      return range;
    },
    neighbour: (ifindex, address) => arpNeighbour(ifindex, address),
    now: () => performance.now(),
    warn: (message) => log.error(message),
  };
}

/**
 * The kernel's ARP table entry for `address` on device `ifindex`, from /proc/net/arp (the reader's
 * namespace), when it is complete: what `proxy` answers with.
 */
function arpNeighbour(ifindex: number, address: number): Uint8Array | null {
  let table: string;
  try {
    table = fs.readFileSync('/proc/net/arp', 'utf8');
  } catch {
    return null;
  }
  const name = (() => {
    try {
      return ifIndexToName(ifindex);
    } catch {
      return null;
    }
  })();
  const ip = `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
  for (const line of table.split('\n').slice(1)) {
    const [entry, , flags, mac, , device] = line.trim().split(/\s+/);
    // ATF_COM (0x2): the entry has a link-layer address.
    if (entry === ip && device === name && (Number.parseInt(flags, 16) & 0x2) !== 0) return parseMac(mac);
  }
  return null;
}
