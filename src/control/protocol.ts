/**
 * The daemon's control API: a closed union of requests and responses.
 *
 * Framing: the client connects to the daemon's unix socket, writes one request as a JSON line, and reads
 * one response as a JSON line; then the connection closes. Errors carry an errno name (see errors.ts) so
 * that the CLI can print the text iproute2 would print for the same kernel refusal.
 */
import type { ErrnoName } from '../errors.js';
import type { PrlEntry } from '../tunnel/isatap.js';
import type { SixRdParams, TunnelParams } from '../tunnel/params.js';
import type { TunnelStats } from '../tunnel/stats.js';
import type { FdbRemote, FdbRequest } from '../tunnel/fdb.js';
import type { VxlanParams } from '../tunnel/vxlan.js';
import type { PolicyQuery } from '../xfrm/database.js';
import type { XfrmPolicyInfo, XfrmPolicyRequest } from '../xfrm/policy.js';
import type { XfrmStateInfo, XfrmStateRequest } from '../xfrm/state.js';

export type { TunnelStats };

export interface TunnelInfo {
  params: TunnelParams;
  ifindex: number;
  stats: TunnelStats;
  /** Packets this tunnel dropped, by drop reason (tunnel/drop.ts). */
  drops: Record<string, number>;
  /** sit and isatap: the 6rd configuration (SIOCGET6RD); the prefix crosses as a byte array. */
  sixRd?: SixRdParams;
  /** isatap: the potential router list (SIOCGETPRL), newest first. */
  prl?: PrlEntry[];
}

/** SIOCADD6RD (`6rd-prefix`/`6rd-relay_prefix`, all given at once) or SIOCDEL6RD (`6rd-reset`). */
export type SixRdRequest = { op: 'tunnel.6rd'; name: string } & ({ reset: true } | { reset: false; sixRd: SixRdParams });

/** SIOCADDPRL (`prl-default`, `prl-nodefault`) or SIOCDELPRL (`prl-delete`). */
export type PrlRequest = { op: 'tunnel.prl'; name: string } & (
  | { action: 'add'; entry: PrlEntry }
  | { action: 'delete'; address: number }
);

/** What the kernel reports about a link device (RTM_GETLINK), as `ip link show` prints it. */
export interface DeviceFacts {
  /** IFF_* flags as the kernel reports them. */
  flags: number;
  mtu: number;
  qdisc: string;
  operstate: string;
  linkmode: number;
  group: number;
  txqlen: number;
  /** MAC and broadcast address, `aa:bb:...`. */
  address: string;
  broadcast: string;
  promiscuity: number;
  allmulti: number;
  minMtu: number;
  maxMtu: number;
  addrGenMode: string | null;
  numTxQueues: number;
  numRxQueues: number;
  gsoMaxSize: number;
  gsoMaxSegs: number;
  tsoMaxSize: number;
  tsoMaxSegs: number;
  groMaxSize: number;
  carrierChanges: number;
}

/** A vxlan device: configuration, counters, and the device facts of its TAP. */
export interface LinkInfo {
  params: VxlanParams;
  ifindex: number;
  stats: TunnelStats;
  /** Frames this device dropped, by drop reason (tunnel/drop.ts). */
  drops: Record<string, number>;
  device: DeviceFacts;
}

/** One FDB entry of a vxlan device, as RTM_GETNEIGH dumps it (one line per remote). */
export interface FdbEntryInfo {
  /** The vxlan device's name and ifindex. */
  dev: string;
  ifindex: number;
  mac: string;
  state: number;
  flags: number;
  remotes: FdbRemote[];
  /** The device's port and VNI: a remote's are shown only where they differ. */
  devicePort: number;
  deviceVni: number;
  /** Seconds since last used (transmit) and last updated (learned, changed), as nda_cacheinfo. */
  used: number;
  updated: number;
}

/** `link.add` extras `ip link add` takes before `type`: MTU, MAC address, queue length. */
export interface LinkAddOptions {
  mtu?: number;
  address?: string;
  txqlen?: number;
  /** `up`: bring the device up once made. */
  up?: boolean;
}

export type FdbCommand = 'add' | 'append' | 'replace' | 'del';
/** How `get` and `delete` name a state: destination, SPI and protocol, under a mark (value & mask). */
export interface XfrmStateId {
  dst: number;
  spi: number;
  proto: number;
  mark: number;
}

/** `ip xfrm state` and `ip xfrm policy` (keys cross the socket as hex, only in state requests and answers). */
export type XfrmRequest =
  | { op: 'xfrm.state.add'; state: XfrmStateRequest }
  | { op: 'xfrm.state.del'; id: XfrmStateId }
  | { op: 'xfrm.state.get'; id: XfrmStateId }
  | { op: 'xfrm.state.list' }
  /** `proto` 0: every state. */
  | { op: 'xfrm.state.flush'; proto: number }
  | { op: 'xfrm.state.count' }
  | { op: 'xfrm.policy.add'; policy: XfrmPolicyRequest }
  | { op: 'xfrm.policy.del'; query: PolicyQuery }
  | { op: 'xfrm.policy.get'; query: PolicyQuery }
  | { op: 'xfrm.policy.list' }
  | { op: 'xfrm.policy.flush'; ptype: number }
  | { op: 'xfrm.policy.count' };

export type Request =
  | { op: 'tunnel.add'; params: TunnelParams }
  /** Replace the configuration of the tunnel called `name` with `params` (SIOCCHGTUNNEL). */
  | { op: 'tunnel.change'; name: string; params: TunnelParams }
  /** Delete by name, or (name empty) the tunnel whose identity matches `params` (SIOCDELTUNNEL). */
  | { op: 'tunnel.del'; name: string; params: TunnelParams }
  | { op: 'tunnel.get'; name: string }
  | { op: 'tunnel.list' }
  | SixRdRequest
  | PrlRequest
  /** `ip link add NAME type vxlan ...` (RTM_NEWLINK). */
  | { op: 'link.add'; params: VxlanParams; options: LinkAddOptions }
  | { op: 'link.del'; name: string }
  | { op: 'link.get'; name: string }
  | { op: 'link.list' }
  /** `bridge fdb show`: every entry of every vxlan device. */
  | { op: 'fdb.list' }
  /** `bridge fdb add|append|replace|del MAC dev NAME ...` (RTM_NEWNEIGH / RTM_DELNEIGH). */
  | { op: 'fdb.modify'; name: string; command: FdbCommand; request: FdbRequest }
  | XfrmRequest
  | { op: 'daemon.status' }
  /** Stop the daemon; with `flush` first delete every tunnel and its device and forget the state. */
  | { op: 'daemon.stop'; flush: boolean };

export interface DaemonStatus {
  pid: number;
  version: string;
  startedAt: string;
  tunnels: number;
  /** vxlan devices. */
  links?: number;
  /** Drops not charged to any tunnel (no tunnel matched, malformed outer packet), by reason. */
  drops: Record<string, number>;
}

export type Response =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: ErrnoName; message: string; extack?: string } };

export interface ResultOf {
  'tunnel.add': null;
  'tunnel.change': null;
  'tunnel.del': null;
  'tunnel.get': TunnelInfo;
  'tunnel.list': TunnelInfo[];
  'tunnel.6rd': null;
  'tunnel.prl': null;
  'link.add': null;
  'link.del': null;
  'link.get': LinkInfo;
  'link.list': LinkInfo[];
  'fdb.list': FdbEntryInfo[];
  'fdb.modify': null;
  'xfrm.state.add': null;
  'xfrm.state.del': null;
  'xfrm.state.get': XfrmStateInfo;
  'xfrm.state.list': XfrmStateInfo[];
  'xfrm.state.flush': null;
  'xfrm.state.count': { count: number; buckets: number; max: number };
  'xfrm.policy.add': null;
  'xfrm.policy.del': null;
  'xfrm.policy.get': XfrmPolicyInfo;
  'xfrm.policy.list': XfrmPolicyInfo[];
  'xfrm.policy.flush': null;
  'xfrm.policy.count': { in: number; out: number; fwd: number; buckets: number; max: number };
  'daemon.status': DaemonStatus;
  'daemon.stop': null;
}
