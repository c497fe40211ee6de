/**
 * The daemon's tunnels: kernel rules (tunnel/admin.ts) turned into devices, state and traffic.
 *
 * Each tunnel is a persistent TUN device named as the user asked, with the MTU the kernel would give
 * the real driver's device. The TUN device is the interface: `ip addr`, `ip route`, `iptables` act on it
 * as on a kernel tunnel. The service keeps the state file in step with the table (written before the
 * answer goes back, so an acknowledged change survives SIGKILL), follows the kernel's link, address and
 * route events (a tunnel receives only while its device is up; the outer route decides NoRoute,
 * DeadLoop and the path MTU), and adopts the devices of an earlier daemon on start.
 */
import { BurrowError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { addrAdd, addrList } from '../io/netlink/addr.js';
import {
  linkByIndex, linkByName, linkDel, linkSetAddrGenMode, linkSetMtu, linkSetMulticast, linkSetTxQueueLen,
} from '../io/netlink/link.js';
import { routeGet, routeList, type Route } from '../io/netlink/route.js';
import type { NetlinkEvent, NetlinkHandle } from '../io/netlink/socket.js';
import { deviceConfKey, Sysctl } from '../io/sysctl.js';
import { TunDevice } from '../io/tun.js';
import type { TunnelInfo } from '../control/protocol.js';
import { findForDelete, planAdd, planChange, reportedParams } from '../tunnel/admin.js';
import { prlAdd, prlDelete, type PrlEntry } from '../tunnel/isatap.js';
import { protocolOfMode, type SixRdParams, type TunnelParams } from '../tunnel/params.js';
import { defaultSixRd, validateSixRd } from '../tunnel/sixrd.js';
import type { TunnelTable } from '../tunnel/table.js';
import { ipv4OfCompatible, type NextHopRoute } from '../tunnel/nexthop.js';
import { defaultMtu, Tunnel, type OuterRouteState } from '../tunnel/tunnel.js';
import { isatapInterfaceId } from '../tunnel/sit.js';
import type { Logger } from './log.js';
import { savedPrl, savedSixRd, saveState, type DaemonState, type PendingChange, type SavedTunnel } from './state.js';
import { adoptEach, applyOffloads, deviceExists, notOurs, offloadOptions, reopenDevice } from './devices.js';
import { NO_OFFLOADS, type OffloadSet } from './offload.js';

/** DEFAULT_TX_QUEUE_LEN, which ip_tunnel_setup leaves alone. */
const KERNEL_TUNNEL_TXQLEN = 1000;

export class TunnelService {
  private routeRefreshPending = false;
  private lastRefreshEnd = -Infinity;
  private refreshGap = 0;
  /** Tunnels whose outer route has a path MTU that expires: the timer that looks again then. */
  private readonly expiryChecks = new Map<Tunnel, NodeJS.Timeout>();

  constructor(
    private readonly table: TunnelTable,
    private readonly engine: Engine,
    private readonly nl: NetlinkHandle,
    private readonly stateFile: string,
    private readonly state: DaemonState,
    private readonly log: Logger,
    private readonly sysctl: Sysctl = new Sysctl(),
    private readonly offloads: OffloadSet = NO_OFFLOADS,
  ) {}

  // ----- requests -------------------------------------------------------------------------------

  add(requested: TunnelParams): void {
    const params = planAdd(this.table, requested, (name) => this.deviceExists(name));
    // The state file learns of the tunnel before its device exists: killed from here on, the daemon
    // leaves a tunnel that the next one makes whole, never a persistent device that nobody owns.
    this.save(params, { op: 'add', name: params.name });
    let device: TunDevice;
    try {
      device = TunDevice.create(params.name, { ...offloadOptions(this.offloads), persist: true });
      applyOffloads(device, this.offloads, this.log);
    } catch (error) {
      this.save();
      // The name was free a moment ago; another program took it since.
      if (error instanceof BurrowError && error.code === 'EBUSY') throw new BurrowError(protocolOfMode(params.mode) === 41 ? 'ENOBUFS' : 'EEXIST');
      throw error;
    }
    const tunnel = new Tunnel(params);
    try {
      const link = linkByName(this.nl, params.name);
      tunnel.ifindex = link.index;
      this.prepareDevice(tunnel);
      linkSetMtu(this.nl, link.index, defaultMtu(params, this.underlayMtu(params)));
    } catch (error) {
      device.setPersist(false);
      device.close();
      this.save();
      throw error;
    }
    this.table.add(tunnel);
    this.refreshRoute(tunnel);
    this.engine.attach(tunnel, device);
    this.watchDevice(tunnel, device);
    this.save();
    this.log.info(`added tunnel ${params.name} (${params.mode})`);
  }

  change(name: string, requested: TunnelParams): void {
    const tunnel = this.mustGet(name);
    const link = linkByIndex(this.nl, tunnel.ifindex);
    const plan = planChange(this.table, tunnel, requested, link.mtu);
    this.table.update(tunnel, plan.params);
    let mtu = plan.mtu;
    if (plan.rebind) mtu = defaultMtu(plan.params, this.underlayMtu(plan.params));
    if (mtu !== null && mtu !== link.mtu) linkSetMtu(this.nl, tunnel.ifindex, mtu);
    this.refreshRoute(tunnel);
    this.save();
    this.log.info(`changed tunnel ${name}`);
  }

  /** Deletes the tunnel called `name`, or (no name) the one whose identity matches `requested`. */
  del(name: string, requested: TunnelParams): void {
    const tunnel = name === '' ? findForDelete(this.table, requested) : this.mustGet(name);
    // Marked first, so that a daemon killed between the device's deletion and the state file's leaves
    // the next one a delete to finish rather than a device without a tunnel (or a tunnel to re-make).
    this.save(undefined, { op: 'del', name: tunnel.name });
    // Out of the table and the engine (which closes its fd) first, so the deletion is no news to them.
    this.table.remove(tunnel);
    this.engine.detach(tunnel);
    this.deleteDevice(tunnel.ifindex);
    this.save();
    this.log.info(`deleted tunnel ${tunnel.name}: ${countersText(tunnel)}`);
  }

  private deleteDevice(ifindex: number): void {
    try {
      linkDel(this.nl, ifindex);
    } catch (error) {
      if (!(error instanceof BurrowError && error.code === 'ENODEV')) throw error;
    }
  }

  /** SIOCADD6RD / SIOCDEL6RD on the device called `name` (spec 1.8). */
  setSixRd(name: string, sixRd: SixRdParams | null): void {
    const t = this.sitDevice(name);
    t.sixRd = sixRd === null ? defaultSixRd() : validateSixRd(sixRd);
    this.save();
    this.log.info(`${name}: 6rd ${sixRd === null ? 'reset' : 'set'}`);
  }

  /** SIOCADDPRL / SIOCDELPRL on the device called `name` (spec 1.7). */
  changePrl(name: string, change: { add: PrlEntry } | { delete: number }): void {
    const t = this.sitDevice(name);
    t.prl = 'add' in change ? prlAdd(t.prl, change.add) : prlDelete(t.prl, change.delete);
    this.save();
  }

  get(name: string): TunnelInfo {
    return info(this.mustGet(name));
  }

  list(): TunnelInfo[] {
    return this.table.list().sort((a, b) => a.ifindex - b.ifindex).map(info);
  }

  /** Removes every tunnel and its device (`burrow daemon stop --flush`); one failure stops no other. */
  flush(): void {
    for (const t of this.table.list()) {
      try {
        this.del(t.name, t.params);
      } catch (error) {
        this.log.error(`flush: could not delete ${t.name}: ${(error as Error).message}`);
      }
    }
  }

  // ----- adoption -------------------------------------------------------------------------------

  /**
   * Takes over the tunnels of the state file: attaches to each persistent device, or creates it again
   * when it is gone (the configuration is the user's; addresses and routes on a re-created device are not).
   */
  adopt(saved: readonly SavedTunnel[], pending?: PendingChange): void {
    adoptEach(saved, 'tunnel', this.log, (entry) => {
      if (pending?.name === entry.name) {
        // A change the last daemon did not finish: its device may be half made or half gone.
        this.log.info(`finishing the ${pending.op === 'add' ? 'add' : 'delete'} of tunnel ${entry.name} that a stopped daemon left`);
        if (this.deviceExists(entry.name)) this.deleteDevice(linkByName(this.nl, entry.name).index);
        if (pending.op === 'del') return;
      }
      this.adoptOne(entry);
    });
    this.save();
  }

  private adoptOne(entry: SavedTunnel): void {
    const { sixRd: _sixRd, prl: _prl, ...params } = entry;
    const { device, recreated } = reopenDevice(params.name, offloadOptions(this.offloads));
    applyOffloads(device, this.offloads, this.log);
    const tunnel = new Tunnel(params);
    tunnel.sixRd = savedSixRd(entry) ?? tunnel.sixRd;
    tunnel.prl = savedPrl(entry);
    const link = linkByName(this.nl, params.name);
    tunnel.ifindex = link.index;
    tunnel.up = link.flags.up;
    if (recreated) {
      this.prepareDevice(tunnel);
      linkSetMtu(this.nl, link.index, defaultMtu(params, this.underlayMtu(params)));
    }
    this.table.add(tunnel);
    this.refreshRoute(tunnel);
    this.engine.attach(tunnel, device);
    this.watchDevice(tunnel, device);
    this.log.info(`${recreated ? 're-created' : 'adopted'} tunnel ${params.name}`);
  }

  // ----- kernel events --------------------------------------------------------------------------

  /** Follows link state (UP, deletion) and re-checks outer routes when routes or addresses change. */
  onNetlinkEvent(event: NetlinkEvent): void {
    switch (event.type) {
      case 'link': {
        const tunnel = this.byIndex(event.link.index);
        if (tunnel && event.action === 'del') {
          this.forget(tunnel, `device ${tunnel.name} was deleted`);
        } else if (tunnel) {
          tunnel.up = event.link.flags.up;
        }
        this.scheduleRouteRefresh();
        break;
      }
      case 'addr':
      case 'route':
        this.scheduleRouteRefresh();
        break;
      case 'resync':
        for (const t of this.table.list()) {
          try {
            t.up = linkByIndex(this.nl, t.ifindex).flags.up;
          } catch {
            this.remove(t);
          }
        }
        this.scheduleRouteRefresh();
        break;
      case 'error':
        this.log.error(`netlink monitor: ${event.error.message}`);
        break;
    }
  }

  /**
   * Re-reads every tunnel's outer route. The daemon calls it every second, because a path MTU the
   * kernel learns from an ICMP frag-needed about an outer packet (raw_err updates the route's PMTU
   * exception, at least 552 bytes: min_pmtu) comes with no netlink event; this is how burrow follows
   * the path MTU that the kernel's tunnels take from ipip_err/ipgre_err (spec 3.7, reliability S2).
   */
  refreshRoutes(): void {
    this.scheduleRouteRefresh();
  }

  /**
   * Looks every tunnel's outer route up again after a link, address or route event: at once when the
   * last pass is long done, else after four times as long as that pass took, so that a burst of events
   * (a thousand tunnels made with -batch, each making its own) costs at most a fifth of the time in
   * passes instead of one pass per event (n^2 lookups). With few tunnels a pass takes well under a
   * millisecond, so nothing waits.
   */
  private scheduleRouteRefresh(): void {
    if (this.routeRefreshPending) return;
    this.routeRefreshPending = true;
    const run = () => {
      this.routeRefreshPending = false;
      const start = performance.now();
      for (const t of this.table.list()) this.refreshRoute(t);
      this.lastRefreshEnd = performance.now();
      this.refreshGap = 4 * (this.lastRefreshEnd - start);
    };
    const wait = this.lastRefreshEnd + this.refreshGap - performance.now();
    if (wait < 1) setImmediate(run);
    else setTimeout(run, wait).unref();
  }

  /**
   * What the kernel's transmit path would find for the outer route (ip_tunnel_xmit): the device and MTU
   * it leaves by, no route (also when `local` is not an address of this host), or the tunnel itself.
   * A path MTU the kernel learned (a route exception) expires without any event: the route is looked
   * up again when it does, so that the tunnel goes back to the device's MTU as the kernel's would.
   */
  refreshRoute(t: Tunnel): void {
    const pending = this.expiryChecks.get(t);
    if (pending !== undefined) clearTimeout(pending);
    this.expiryChecks.delete(t);
    const p = t.params;
    this.refreshDeviceAddresses(t);
    if (p.remote === 0) {
      // NBMA: each packet finds its outer route through its next hop (refreshNextHops).
      t.route = 'ok';
      t.routeOif = p.link;
      t.routeMtu = this.underlayMtu(p) ?? 1500;
      this.refreshNextHops(t);
      return;
    }
    const outer = this.outerRoute(t, p.remote);
    t.route = outer.route;
    t.routeMtu = outer.mtu;
    t.routeOif = outer.oif;
    if (outer.expires !== undefined) {
      const timer = setTimeout(() => {
        this.expiryChecks.delete(t);
        if (this.table.get(t.name) === t) this.refreshRoute(t);
      }, (outer.expires + 1) * 1000);
      timer.unref();
      this.expiryChecks.set(t, timer);
    }
  }

  /**
   * What the kernel's transmit path would find for the outer route to `destination` (ip_tunnel_xmit):
   * the device and MTU it leaves by, no route (also when `local` is not an address of this host), or
   * the tunnel itself.
   */
  private outerRoute(t: Tunnel, destination: number): { route: OuterRouteState; mtu: number; oif: number; expires?: number } {
    const p = t.params;
    try {
      const route = routeGet(this.nl, destination, {
        ...(p.local !== 0 ? { src: p.local } : {}),
        ...(p.link !== 0 ? { oif: p.link } : {}),
      });
      const oif = route.oif ?? 0;
      if (oif === t.ifindex) return { route: 'dead-loop', mtu: t.routeMtu, oif };
      const ok = route.type === 'unicast' || route.type === 'local';
      const mtu = route.mtu ?? (oif !== 0 ? linkByIndex(this.nl, oif).mtu : 1500);
      // A cached PMTU exception expires: the tunnel's MTU must be looked at again then.
      const expires = route.mtu !== undefined ? route.expires : undefined;
      return { route: ok ? 'ok' : 'no-route', mtu, oif, ...(expires !== undefined ? { expires } : {}) };
    } catch (error) {
      if (!(error instanceof BurrowError)) throw error;
      return { route: 'no-route', mtu: t.routeMtu, oif: 0 };
    }
  }

  /**
   * An NBMA tunnel's routes (every table) that leave through its device, each with its next hop's
   * outer route resolved once here, so the packet path never asks the kernel (tunnel/nexthop.ts).
   */
  private refreshNextHops(t: Tunnel): void {
    const routes: NextHopRoute[] = [];
    let listed: Route[];
    try {
      listed = routeList(this.nl, { table: 'all' });
    } catch (error) {
      if (!(error instanceof BurrowError)) throw error;
      this.log.error(`${t.name}: cannot list routes: ${error.message}`);
      return;
    }
    for (const r of listed) {
      if (r.type !== 'unicast') continue;
      const hops = r.multipath ?? [{ oif: r.oif ?? 0, gateway: r.gateway, weight: 1, flags: 0 }];
      // A multipath route counts by its first hop through the tunnel (the kernel hashes the flow).
      const hop = hops.find((h) => h.oif === t.ifindex);
      if (hop === undefined) continue;
      const prefix = r.dst ?? (r.family === 4 ? 0 : new Uint8Array(16));
      const gateway = hop.gateway ?? null;
      // The IPv4 next hop whose outer route this route's packets take, when one can be known now.
      let v4: number;
      if (typeof gateway === 'number') v4 = gateway;
      else if (gateway instanceof Uint8Array) v4 = ipv4OfCompatible(gateway, 0);
      else v4 = typeof prefix === 'number' ? prefix : 0;
      const outer = v4 !== 0 ? this.outerRoute(t, v4) : { route: t.route, mtu: t.routeMtu };
      routes.push({
        prefix,
        prefixLength: r.dstLength,
        gateway,
        priority: r.priority ?? 0,
        outer: outer.route,
        outerMtu: outer.mtu,
      });
    }
    t.nextHops.setRoutes(routes);
  }

  // ----- helpers --------------------------------------------------------------------------------

  /**
   * Makes the TUN device look like the kernel's tunnel device where IPv6 shows it:
   * - not multicast-capable, and in no multicast group but all-nodes. TUNSETIFF registers the device
   *   with IFF_MULTICAST, and with IPv6 forwarding on the kernel joins it to the all-routers groups
   *   there and then (ipv6_add_dev) and sends MLD reports for them into the tunnel once it is up; the
   *   kernel's ipip, gre and sit devices never have IFF_MULTICAST, so never join and never report.
   *   Turning the device's forwarding off while the flag is still set leaves those groups
   *   (dev_forward_change); then the flag goes, and forwarding is put back, which joins nothing.
   *   The leaving is done in MLDv1 mode, where a group never reported needs no Done message; in
   *   MLDv2 mode the kernel would queue a state-change report and send it when the device comes up.
   * - the link-local address the kernel gives its own device: fe80::5efe:<a.b.c.d> (ISATAP style) for
   *   ipip, gre and isatap (addrconf_dev_config / addrconf_gre_config), fe80::<a.b.c.d> for sit (add_v4_addrs);
   *   none without a local address. addrgenmode none stops the kernel from deriving one of its own.
   * - router solicitations only where the kernel sends them: gre does; ipip does not
   *   (addrconf_dad_completed skips ARPHRD_TUNNEL) and neither does sit (its link-local skips DAD,
   *   which is where solicitations start). A TUN device is ARPHRD_NONE and would solicit for both.
   * - an NBMA sit device gets the IPv4-compatible ::<a.b.c.d>/96 instead (add_v4_addrs).
   */
  private prepareDevice(t: Tunnel): void {
    const name = t.params.name;
    // The kernel's tunnel devices have the default queue length, 1000; a TUN device starts with 500.
    linkSetTxQueueLen(this.nl, t.ifindex, KERNEL_TUNNEL_TXQLEN);
    const conf = (key: string) => deviceConfKey(6, name, key);
    const forwarding = this.readDeviceSysctl(name, 'forwarding');
    if (forwarding !== null && forwarding !== 0) {
      const mldVersion = this.sysctl.readInt(conf('force_mld_version'));
      this.sysctl.write(conf('force_mld_version'), 1);
      this.sysctl.write(conf('forwarding'), 0);
      this.sysctl.write(conf('force_mld_version'), mldVersion);
    }
    linkSetMulticast(this.nl, t.ifindex, false);
    if (forwarding !== null && forwarding !== 0) this.sysctl.write(conf('forwarding'), forwarding);
    if (t.params.mode !== 'gre' && forwarding !== null) this.sysctl.write(conf('router_solicitations'), 0);
    linkSetAddrGenMode(this.nl, t.ifindex, 'none');
    const { local, mode, remote } = t.params;
    // Without IPv6 on the device (disable_ipv6, or none in this kernel) the kernel gives it no address.
    if (local === 0 || mode === 'vti' || (this.readDeviceSysctl(name, 'disable_ipv6') ?? 1) !== 0) return;
    const address = new Uint8Array(16);
    address[12] = local >>> 24;
    address[13] = (local >>> 16) & 0xff;
    address[14] = (local >>> 8) & 0xff;
    address[15] = local & 0xff;
    if (mode === 'sit' && remote === 0) {
      // add_v4_addrs: an NBMA sit device gets the IPv4-compatible ::a.b.c.d/96 (its prefix route sends
      // ::/96 to the embedded IPv4 address).
      addrAdd(this.nl, { link: t.ifindex, address, prefixLength: 96, scope: 0, nodad: true });
      return;
    }
    address[0] = 0xfe;
    address[1] = 0x80;
    if (mode !== 'sit') address.set(isatapInterfaceId(local), 8);
    addrAdd(this.nl, { link: t.ifindex, address, prefixLength: 64, scope: 253, nodad: true });
  }

  /** The IPv6 addresses on a sit or isatap device, for the receive checks (tunnel/sixrd.ts, isatap.ts). */
  private refreshDeviceAddresses(t: Tunnel): void {
    if (t.params.mode !== 'sit' && t.params.mode !== 'isatap') return;
    try {
      t.deviceAddresses = addrList(this.nl, 6, t.ifindex).flatMap((a) =>
        a.address instanceof Uint8Array ? [{ address: a.address, prefixLength: a.prefixLength }] : [],
      );
    } catch (error) {
      if (!(error instanceof BurrowError)) throw error;
      t.deviceAddresses = [];
    }
  }

  /** A per-device IPv6 setting, or null when the device has no IPv6 (disabled in this kernel). */
  private readDeviceSysctl(device: string, name: string): number | null {
    try {
      return this.sysctl.readInt(deviceConfKey(6, device, name));
    } catch (error) {
      if (error instanceof BurrowError && error.code === 'ENOENT') return null;
      throw error;
    }
  }

  /** MTU of the device the tunnel's packets leave by (ip_tunnel_bind_dev), or null for 1500. */
  private underlayMtu(p: TunnelParams): number | null {
    if (p.remote !== 0) {
      try {
        const route = routeGet(this.nl, p.remote, {
          ...(p.local !== 0 ? { src: p.local } : {}),
          ...(p.link !== 0 ? { oif: p.link } : {}),
        });
        if (route.oif !== undefined) return linkByIndex(this.nl, route.oif).mtu;
      } catch (error) {
        if (!(error instanceof BurrowError)) throw error;
      }
    }
    if (p.link !== 0) {
      try {
        return linkByIndex(this.nl, p.link).mtu;
      } catch (error) {
        if (!(error instanceof BurrowError)) throw error;
      }
    }
    return null;
  }

  private watchDevice(t: Tunnel, device: TunDevice): void {
    device.onError((error) => {
      if (error.fatal && this.table.get(t.name) === t) this.forget(t, `device ${t.name} is gone (${error.code})`);
    });
  }

  /**
   * The device went away under the daemon: the tunnel goes too. Its last counters are logged on the next
   * turn of the event loop, after the batch that found the device gone has counted what it did.
   */
  private forget(t: Tunnel, why: string): void {
    this.remove(t);
    setImmediate(() => this.log.info(`${why}; removed the tunnel: ${countersText(t)}`));
  }

  private remove(t: Tunnel): void {
    if (this.table.get(t.name) !== t) return;
    clearTimeout(this.expiryChecks.get(t));
    this.expiryChecks.delete(t);
    this.table.remove(t);
    this.engine.detach(t);
    this.save();
  }

  /**
   * The device of a sit-private ioctl: ENODEV or EOPNOTSUPP as for any tunnel ioctl, and EINVAL from
   * the ipip, gre and vti drivers (ip_tunnel_ctl knows no such command). The kernel does not check
   * that a PRL goes to an ISATAP device.
   */
  private sitDevice(name: string): Tunnel {
    const t = this.mustGet(name);
    if (t.params.mode !== 'sit' && t.params.mode !== 'isatap') throw new BurrowError('EINVAL', `${name} is not a sit device`);
    return t;
  }

  private mustGet(name: string): Tunnel {
    const t = this.table.get(name);
    if (t) return t;
    // The kernel answers ENODEV for a missing device and EOPNOTSUPP for a device that is not a tunnel.
    throw notOurs(this.nl, name);
  }

  private byIndex(index: number): Tunnel | undefined {
    return this.table.list().find((t) => t.ifindex === index);
  }

  private deviceExists(name: string): boolean {
    return deviceExists(this.nl, name);
  }

  /** Writes the table's tunnels (and `adding`, about to be made) and the change under way, if any. */
  private save(adding?: TunnelParams, pending?: PendingChange): void {
    this.state.tunnels = this.table.list().map(saved);
    if (adding) this.state.tunnels.push(adding);
    if (pending) this.state.pending = pending;
    else delete this.state.pending;
    saveState(this.stateFile, this.state);
  }
}

/**
 * A tunnel's counters for the log, the numbers `burrow -s -s tunnel show` prints: `rx P packets B bytes
 * E errors, tx P packets B bytes E errors, drops: reason N, ...` (drops sorted by reason).
 */
export function countersText(t: Tunnel): string {
  const s = t.stats;
  return `rx ${s.rxPackets} packets ${s.rxBytes} bytes ${s.rxErrors} errors, tx ${s.txPackets} packets ${s.txBytes} bytes ${s.txErrors} errors, ${dropsText(t.drops)}`;
}

/** `drops: reason N, ...` sorted by reason, or `drops: none`. */
export function dropsText(drops: ReadonlyMap<string, number>): string {
  const reasons = [...drops.keys()].sort();
  return `drops: ${reasons.length === 0 ? 'none' : reasons.map((r) => `${r} ${drops.get(r)}`).join(', ')}`;
}

function isSit(t: Tunnel): boolean {
  return t.params.mode === 'sit' || t.params.mode === 'isatap';
}

function saved(t: Tunnel): SavedTunnel {
  if (!isSit(t)) return t.params;
  const c = t.sixRd;
  return {
    ...t.params,
    sixRd: { prefix: Array.from(c.prefix), prefixLength: c.prefixLength, relayPrefix: c.relayPrefix, relayPrefixLength: c.relayPrefixLength },
    ...(t.prl.length > 0 ? { prl: t.prl } : {}),
  };
}

function info(t: Tunnel): TunnelInfo {
  const base: TunnelInfo = { params: reportedParams(t.params), ifindex: t.ifindex, stats: { ...t.stats }, drops: Object.fromEntries(t.drops) };
  if (!isSit(t)) return base;
  return { ...base, sixRd: { ...t.sixRd, prefix: Array.from(t.sixRd.prefix) as unknown as Uint8Array }, prl: [...t.prl] };
}

