/**
 * The daemon's life: one per network namespace, holding that namespace's lock for as long as it runs.
 *
 * Start: take the lock (a second daemon exits 1 with a message), write the pid file, read the state,
 * open netlink, adopt the tunnels of the state file (their persistent devices kept addresses and routes
 * while no daemon ran), then answer on the control socket.
 * Stop (SIGTERM, SIGINT, or a `daemon.stop` request): stop answering, close every device and socket.
 * Devices are persistent and the state file stays, so the next daemon adopts the tunnels; they pass no
 * traffic in between. `daemon.stop` with `flush` deletes every tunnel first (the lab's cleanup).
 * SIGKILL is survived the same way: the state file is written before each change is acknowledged.
 */
import fs from 'node:fs';
import { serveControl } from '../control/server.js';
import { currentDaemonPaths } from '../control/client.js';
import type { DaemonStatus, Request } from '../control/protocol.js';
import { Engine, type EngineIo } from '../engine/engine.js';
import { NetlinkHandle, NetlinkMonitor } from '../io/netlink/socket.js';
import { errnoName, flock, ifIndexToName } from '../io/native/index.js';
import { RawIpv4Socket } from '../io/raw-socket.js';
import { TunnelTable } from '../tunnel/table.js';
import { streamLogger } from './log.js';
import { BurrowError } from '../errors.js';
import { isTunnelParams, type SixRdParams, type TunnelParams } from '../tunnel/params.js';
import { loadState } from './state.js';
import { countersText, dropsText, TunnelService } from './tunnels.js';
import { parseOffloads } from './offload.js';
import { systemVxlanIo, VxlanService } from './vxlan.js';
import { VxlanEngine } from '../engine/vxlan.js';
import { isVxlanParams, type VxlanParams } from '../tunnel/vxlan.js';
import type { FdbCommand, LinkAddOptions } from '../control/protocol.js';
import type { FdbRequest } from '../tunnel/fdb.js';
import { XfrmDatabase } from '../xfrm/database.js';
import { XfrmService } from './xfrm.js';

export const VERSION = '0.1.0';

/** How often the outer routes are re-read for path MTUs the kernel learned (tunnels.ts refreshRoutes). */
const ROUTE_REFRESH_MS = 1000;

const LOCK_EX = 2;
const LOCK_NB = 4;

function systemIo(beforeReceive: () => void): EngineIo {
  return {
    beforeReceive,
    openReceiver: (protocol) => RawIpv4Socket.open({ protocol }),
    // IP_RECVERR, or a packet the underlay queue drops would count as sent (tx-no-buffer is the truth).
    openSender: (link) => RawIpv4Socket.open({ protocol: 255, recvErr: true, ...(link !== 0 ? { device: ifIndexToName(link) } : {}) }),
    now: () => performance.now(),
  };
}

/**
 * Request parameters come from another process: check their shape before the kernel rules run, and keep
 * only the fields TunnelParams has (anything else would be kept in the table and the state file).
 */
function checkTunnelParams(value: unknown): TunnelParams {
  if (!isTunnelParams(value)) throw new BurrowError('EINVAL', 'malformed tunnel parameters');
  const { name, mode, remote, local, link, ttl, tos, pmtudisc, iflags, oflags, ikey, okey } = value;
  return { name, mode, remote, local, link, ttl, tos, pmtudisc, iflags, oflags, ikey, okey };
}

/** A 6rd configuration from a request: the prefix crosses the socket as 16 numbers. */
function checkSixRd(value: unknown): SixRdParams {
  const c = value as Record<string, unknown> | null;
  const prefix = c?.prefix;
  const bytes = Array.isArray(prefix) ? prefix : typeof prefix === 'object' && prefix !== null ? Object.values(prefix) : [];
  if (bytes.length !== 16 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new BurrowError('EINVAL', 'malformed 6rd prefix');
  }
  return {
    prefix: Uint8Array.from(bytes as number[]),
    prefixLength: Number(c!.prefixLength),
    relayPrefix: Number(c!.relayPrefix),
    relayPrefixLength: Number(c!.relayPrefixLength),
  };
}

function checkVxlanParams(value: unknown): VxlanParams {
  if (!isVxlanParams(value)) throw new BurrowError('EINVAL', 'malformed vxlan parameters');
  return value;
}

function checkLinkOptions(value: unknown): LinkAddOptions {
  const o = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const out: LinkAddOptions = {};
  if (typeof o.mtu === 'number') out.mtu = o.mtu;
  if (typeof o.address === 'string') out.address = o.address;
  if (typeof o.txqlen === 'number') out.txqlen = o.txqlen;
  if (o.up === true) out.up = true;
  return out;
}

function checkFdbCommand(value: unknown): FdbCommand {
  if (value === 'add' || value === 'append' || value === 'replace' || value === 'del') return value;
  throw new BurrowError('EINVAL', 'unknown fdb command');
}

function checkFdbRequest(value: unknown): FdbRequest {
  const r = value as Partial<FdbRequest> | null;
  const numbers = [r?.mac, r?.ip, r?.ifindex, r?.state, r?.flags, r?.nlFlags];
  const optional = [r?.port, r?.vni];
  if (
    typeof r !== 'object' ||
    r === null ||
    !numbers.every((n) => typeof n === 'number') ||
    typeof r.hasIp !== 'boolean' ||
    !optional.every((n) => n === null || typeof n === 'number')
  ) {
    throw new BurrowError('EINVAL', 'malformed fdb request');
  }
  return r as FdbRequest;
}

/** Runs the daemon in the foreground until it is stopped; returns the exit status. */
export async function runDaemon(): Promise<number> {
  const paths = currentDaemonPaths();
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const lockFd = fs.openSync(paths.lock, 'a', 0o600);
  try {
    flock(lockFd, LOCK_EX | LOCK_NB);
  } catch (error) {
    fs.closeSync(lockFd);
    const code = (error as { code?: string }).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
      let pid = '?';
      try {
        pid = fs.readFileSync(paths.pid, 'utf8').trim();
      } catch {
        // The other daemon has not written its pid yet.
      }
      process.stderr.write(`burrow: a daemon is already running in this network namespace (pid ${pid})\n`);
      return 1;
    }
    throw error;
  }
  fs.writeFileSync(paths.pid, `${process.pid}\n`);
  const log = streamLogger((line) => process.stderr.write(line));
  const startedAt = new Date().toISOString();
  const state = loadState(paths.state, (m) => log.info(m));
  const nl = NetlinkHandle.open();
  const table = new TunnelTable();
  // The IPsec database's clock: wall-clock seconds, for the add and use times `-s` shows.
  const xfrm = new XfrmDatabase(() => Math.floor(Date.now() / 1000));
  const offloads = parseOffloads(process.env.BURROW_OFFLOAD);
  log.info(`offloads: ${Object.entries(offloads).map(([k, on]) => `${k} ${on ? 'on' : 'off'}`).join(', ')}`);
  // Link events already queued are read before each receive batch (see EngineIo.beforeReceive).
  let monitor: NetlinkMonitor | undefined;
  const engine = new Engine(table, systemIo(() => monitor?.drain(64)), errnoName, xfrm, { gro: offloads.gro });
  const service = new TunnelService(table, engine, nl, paths.state, state, log, undefined, offloads);
  engine.onRouteStale((tunnel) => service.refreshRoute(tunnel));
  const vxlanEngine = new VxlanEngine(systemVxlanIo(nl, log), errnoName, { gro: offloads.gro });
  const links = new VxlanService(vxlanEngine, nl, paths.state, state, log, () => performance.now(), offloads);
  monitor = NetlinkMonitor.open((event) => {
    service.onNetlinkEvent(event);
    links.onNetlinkEvent(event);
  });
  const ipsec = new XfrmService(xfrm, paths.state, state, log);
  ipsec.adopt(state.xfrm);
  service.adopt(state.tunnels, state.pending);
  links.adopt(state.vxlan ?? []);

  let flushed = false;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const handle = (request: Request): unknown => {
    switch (request.op) {
      case 'tunnel.add':
        return service.add(checkTunnelParams(request.params));
      case 'tunnel.change':
        return service.change(String(request.name), checkTunnelParams(request.params));
      case 'tunnel.del':
        return service.del(String(request.name), checkTunnelParams(request.params));
      case 'tunnel.get':
        return service.get(String(request.name));
      case 'tunnel.list':
        return service.list();
      case 'tunnel.6rd':
        return service.setSixRd(String(request.name), request.reset ? null : checkSixRd(request.sixRd));
      case 'tunnel.prl':
        return service.changePrl(
          String(request.name),
          request.action === 'add'
            ? { add: { address: Number(request.entry?.address) >>> 0, isDefault: request.entry?.isDefault === true } }
            : { delete: Number(request.address) >>> 0 },
        );
      case 'link.add':
        return links.add(checkVxlanParams(request.params), checkLinkOptions(request.options));
      case 'link.del':
        return links.del(String(request.name));
      case 'link.get':
        return links.get(String(request.name));
      case 'link.list':
        return links.list();
      case 'fdb.list':
        return links.fdbList();
      case 'fdb.modify':
        return links.fdbModify(String(request.name), checkFdbCommand(request.command), checkFdbRequest(request.request));
      case 'xfrm.state.add':
      case 'xfrm.state.del':
      case 'xfrm.state.get':
      case 'xfrm.state.list':
      case 'xfrm.state.flush':
      case 'xfrm.state.count':
      case 'xfrm.policy.add':
      case 'xfrm.policy.del':
      case 'xfrm.policy.get':
      case 'xfrm.policy.list':
      case 'xfrm.policy.flush':
      case 'xfrm.policy.count':
        return ipsec.handle(request);
      case 'daemon.status':
        return {
          pid: process.pid,
          version: VERSION,
          startedAt,
          tunnels: table.size,
          links: links.size,
          drops: Object.fromEntries([...engine.drops, ...vxlanEngine.drops]),
        } satisfies DaemonStatus;
      case 'daemon.stop':
        // Stop whatever happens to the flush: a daemon asked to go must go.
        setImmediate(stop);
        if (request.flush === true) {
          service.flush();
          links.flush();
          ipsec.flush();
          flushed = true;
        }
        return null;
    }
  };
  // Path MTUs learned from ICMP (route exceptions) raise no event: the outer routes are re-read.
  const routeTimer = setInterval(() => service.refreshRoutes(), ROUTE_REFRESH_MS);
  const server = await serveControl(paths.socket, handle, (bug) => log.error(`bug: ${(bug as Error).stack ?? String(bug)}`));
  log.info(`daemon ${VERSION} started, pid ${process.pid}, ${table.size} tunnel(s), ${links.size} vxlan device(s)`);

  const onSignal = (signal: string): void => {
    log.info(`${signal}: stopping (devices and state are kept)`);
    stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => log.info('SIGHUP: nothing to reload'));
  await stopped;

  // The last counters go into the log: a stop loses them otherwise (a new daemon starts from 0).
  for (const t of table.list()) log.info(`tunnel ${t.name} at stop: ${countersText(t)}`);
  log.info(`not charged to a tunnel at stop: ${dropsText(engine.drops)}`);
  clearInterval(routeTimer);
  await server.close();
  monitor.close();
  engine.close();
  vxlanEngine.close();
  // The counters as they stand (sequence numbers, replay window), for the next daemon.
  if (!flushed) ipsec.save(true);
  nl.close();
  fs.rmSync(paths.socket, { force: true });
  fs.rmSync(paths.pid, { force: true });
  if (table.size === 0 && links.size === 0 && ipsec.empty) fs.rmSync(paths.state, { force: true });
  log.info('daemon stopped');
  // After a flush nothing of this namespace is left to adopt: the directory goes too.
  if (flushed) fs.rmSync(paths.dir, { recursive: true, force: true });
  fs.closeSync(lockFd);
  return 0;
}
