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
import { addrAdd } from '../io/netlink/addr.js';
import { linkByIndex, linkByName, linkDel, linkSetAddrGenMode, linkSetMtu, linkSetMulticast } from '../io/netlink/link.js';
import { routeGet } from '../io/netlink/route.js';
import type { NetlinkEvent, NetlinkHandle } from '../io/netlink/socket.js';
import { TunDevice } from '../io/tun.js';
import type { TunnelInfo } from '../control/protocol.js';
import { findForDelete, planAdd, planChange } from '../tunnel/admin.js';
import type { TunnelParams } from '../tunnel/params.js';
import type { TunnelTable } from '../tunnel/table.js';
import { defaultMtu, Tunnel } from '../tunnel/tunnel.js';
import { isatapInterfaceId } from '../tunnel/sit.js';
import type { Logger } from './log.js';
import { saveState, type DaemonState, type PendingChange } from './state.js';

export class TunnelService {
  private routeRefreshPending = false;

  constructor(
    private readonly table: TunnelTable,
    private readonly engine: Engine,
    private readonly nl: NetlinkHandle,
    private readonly stateFile: string,
    private readonly state: DaemonState,
    private readonly log: Logger,
  ) {}

  // ----- requests -------------------------------------------------------------------------------

  add(requested: TunnelParams): void {
    const params = planAdd(this.table, requested, (name) => this.deviceExists(name));
    // The state file learns of the tunnel before its device exists: killed from here on, the daemon
    // leaves a tunnel that the next one makes whole, never a persistent device that nobody owns.
    this.save(params, { op: 'add', name: params.name });
    let device: TunDevice;
    try {
      device = TunDevice.create(params.name, { persist: true });
    } catch (error) {
      this.save();
      // The name was free a moment ago; another program took it since.
      if (error instanceof BurrowError && error.code === 'EBUSY') throw new BurrowError(params.mode === 'sit' ? 'ENOBUFS' : 'EEXIST');
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
  adopt(saved: readonly TunnelParams[], pending?: PendingChange): void {
    for (const params of saved) {
      try {
        if (pending?.name === params.name) {
          // A change the last daemon did not finish: its device may be half made or half gone.
          this.log.info(`finishing the ${pending.op === 'add' ? 'add' : 'delete'} of tunnel ${params.name} that a stopped daemon left`);
          if (this.deviceExists(params.name)) this.deleteDevice(linkByName(this.nl, params.name).index);
          if (pending.op === 'del') continue;
        }
        this.adoptOne(params);
      } catch (error) {
        this.log.error(`could not adopt tunnel ${params.name}: ${(error as Error).message}`);
      }
    }
    this.save();
  }

  private adoptOne(params: TunnelParams): void {
    let device: TunDevice;
    let recreated = false;
    try {
      device = TunDevice.attach(params.name);
    } catch (error) {
      if (!(error instanceof BurrowError && error.code === 'ENODEV')) throw error;
      device = TunDevice.create(params.name, { persist: true });
      recreated = true;
    }
    const tunnel = new Tunnel(params);
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

  private scheduleRouteRefresh(): void {
    if (this.routeRefreshPending) return;
    this.routeRefreshPending = true;
    setImmediate(() => {
      this.routeRefreshPending = false;
      for (const t of this.table.list()) this.refreshRoute(t);
    });
  }

  /**
   * What the kernel's transmit path would find for the outer route (ip_tunnel_xmit): the device and MTU
   * it leaves by, no route (also when `local` is not an address of this host), or the tunnel itself.
   */
  private refreshRoute(t: Tunnel): void {
    const p = t.params;
    if (p.remote === 0) {
      t.route = 'ok';
      return;
    }
    try {
      const route = routeGet(this.nl, p.remote, {
        ...(p.local !== 0 ? { src: p.local } : {}),
        ...(p.link !== 0 ? { oif: p.link } : {}),
      });
      const oif = route.oif ?? 0;
      t.routeOif = oif;
      if (oif === t.ifindex) {
        t.route = 'dead-loop';
        return;
      }
      t.route = route.type === 'unicast' || route.type === 'local' ? 'ok' : 'no-route';
      t.routeMtu = route.mtu ?? (oif !== 0 ? linkByIndex(this.nl, oif).mtu : 1500);
    } catch (error) {
      if (!(error instanceof BurrowError)) throw error;
      t.route = 'no-route';
    }
  }

  // ----- helpers --------------------------------------------------------------------------------

  /**
   * Makes the TUN device look like the kernel's tunnel device where it matters: no IPv6 link-local of
   * its own unless the mode carries IPv6, and for sit and gre the link-local the kernel derives from the
   * local IPv4 address (fe80::<a.b.c.d> for sit, fe80::5efe:<a.b.c.d> for gre).
   */
  private prepareDevice(t: Tunnel): void {
    // The kernel's ipip, gre and sit devices are not multicast-capable (no IFF_MULTICAST).
    linkSetMulticast(this.nl, t.ifindex, false);
    linkSetAddrGenMode(this.nl, t.ifindex, 'none');
    const local = t.params.local;
    if (local === 0 || t.params.mode === 'ipip') return;
    const address = new Uint8Array(16);
    address[0] = 0xfe;
    address[1] = 0x80;
    if (t.params.mode === 'gre') address.set(isatapInterfaceId(local), 8);
    address[12] = local >>> 24;
    address[13] = (local >>> 16) & 0xff;
    address[14] = (local >>> 8) & 0xff;
    address[15] = local & 0xff;
    addrAdd(this.nl, { link: t.ifindex, address, prefixLength: 64, scope: 253, nodad: true });
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
    this.table.remove(t);
    this.engine.detach(t);
    this.save();
  }

  private mustGet(name: string): Tunnel {
    const t = this.table.get(name);
    if (t) return t;
    // The kernel answers ENODEV for a missing device and EOPNOTSUPP for a device that is not a tunnel.
    throw new BurrowError(this.deviceExists(name) ? 'EOPNOTSUPP' : 'ENODEV');
  }

  private byIndex(index: number): Tunnel | undefined {
    return this.table.list().find((t) => t.ifindex === index);
  }

  private deviceExists(name: string): boolean {
    try {
      linkByName(this.nl, name);
      return true;
    } catch (error) {
      if (error instanceof BurrowError && error.code === 'ENODEV') return false;
      throw error;
    }
  }

  /** Writes the table's tunnels (and `adding`, about to be made) and the change under way, if any. */
  private save(adding?: TunnelParams, pending?: PendingChange): void {
    this.state.tunnels = this.table.list().map((t) => t.params);
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

function info(t: Tunnel): TunnelInfo {
  return { params: t.params, ifindex: t.ifindex, stats: { ...t.stats }, drops: Object.fromEntries(t.drops) };
}

