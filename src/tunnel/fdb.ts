/**
 * The vxlan forwarding database: inner MAC address -> the VTEPs (outer IPv4 address, UDP port, VNI,
 * underlay device) frames to that address go to (drivers/net/vxlan/vxlan_core.c, the `vxlan_fdb_*`
 * functions; RFC 7348 section 4).
 *
 * - Entries are keyed by the 48-bit MAC as a number (exact in a double), so a lookup on the packet
 *   path allocates nothing. An entry holds one or more remotes: several only for the all-zeros default
 *   entry and multicast MACs (`bridge fdb append`: head-end replication, one copy per remote).
 * - Learning (`vxlan_snoop`): the inner source MAC of a received frame maps to the outer source
 *   address. A dynamic entry whose remote changes migrates; a static one (permanent or noarp) does not,
 *   and the frame is dropped. New entries are refused silently beyond `maxaddress`.
 * - Ageing (`vxlan_cleanup`): a dynamic entry not refreshed by a received frame for `ageing` seconds
 *   goes. `expire(now)` removes them and says when to look again: the earliest expiry, but at least
 *   every 10 s, as the kernel's timer does.
 * - The netlink verbs (`bridge fdb add|append|replace|del`) return the errno the kernel returns.
 *
 * Time is an argument (milliseconds, any monotonic origin); nothing here reads a clock. Listing order
 * is the kernel 6.18's: newest entry first, each entry's remotes in the order they were added.
 */
import type { ErrnoName } from '../errors.js';

/** Neighbour states (include/uapi/linux/neighbour.h), as `bridge fdb` shows them. */
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;

/** Neighbour flags (ndm_flags). */
export const NTF_USE = 0x01;
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;
export const NTF_EXT_LEARNED = 0x10;
export const NTF_OFFLOADED = 0x20;
export const NTF_STICKY = 0x40;
export const NTF_ROUTER = 0x80;
/** Kernel-internal flag of entries a user added (include/net/vxlan.h); never shown. */
export const NTF_VXLAN_ADDED_BY_USER = 0x100;

/** netlink request flags that decide what an RTM_NEWNEIGH does. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;

/** How often expiry is looked at when no entry is due sooner (FDB_AGE_INTERVAL). */
export const FDB_AGE_INTERVAL_MS = 10_000;

/** The MAC key of the default entry (00:00:00:00:00:00). */
export const ZERO_MAC = 0;

export interface FdbRemote {
  /** Outer destination, host order; 0 is "any" (never sent to). */
  ip: number;
  /** Outer UDP destination port. */
  port: number;
  vni: number;
  /** Underlay device (`via DEV`), 0 for none. */
  ifindex: number;
}

export interface FdbEntry {
  readonly mac: number;
  state: number;
  flags: number;
  readonly remotes: FdbRemote[];
  /** Last time a transmitted frame looked the entry up (ms). */
  used: number;
  /** Last time it was created, learned again or changed (ms). */
  updated: number;
}

/** What the table needs of its device's configuration. */
export interface FdbConfig {
  /** The device's VNI and destination port: the defaults of remotes given without them. */
  vni: number;
  port: number;
  learning: boolean;
  /** Seconds a dynamic entry lives without being refreshed. */
  ageing: number;
  /** Most entries (the default entry included); 0 for no limit. */
  maxAddresses: number;
}

/** Result of `learn` (vxlan_snoop), and whether the frame may still be delivered. */
export type LearnResult =
  /** Known at this remote, learned, or migrated: deliver. */
  | 'ok'
  /** Not a usable source address (multicast or zero): the kernel drops the frame. */
  | 'invalid-source'
  /** A static entry has this MAC at another remote: it does not move, the frame is dropped. */
  | 'static-conflict';

/** A request of `bridge fdb add|append|replace|del` for one MAC, its values resolved. */
export interface FdbRequest {
  mac: number;
  /** Destination, 0 when none was given. */
  ip: number;
  /** Whether `dst` was given (add needs it). */
  hasIp: boolean;
  /** null: the device's port / VNI. */
  port: number | null;
  vni: number | null;
  ifindex: number;
  /** NUD_* as the request carries it (bridge defaults to permanent). */
  state: number;
  /** NTF_* of the request. */
  flags: number;
  /** NLM_F_* of the request: add is CREATE|EXCL, append CREATE|APPEND, replace CREATE|REPLACE. */
  nlFlags: number;
}

/** 6 bytes at `offset` as the table's key. */
export function macKey(bytes: Uint8Array, offset = 0): number {
  return (
    bytes[offset] * 0x100_0000_0000 +
    bytes[offset + 1] * 0x1_0000_0000 +
    (((bytes[offset + 2] << 24) | (bytes[offset + 3] << 16) | (bytes[offset + 4] << 8) | bytes[offset + 5]) >>> 0)
  );
}

/** The six bytes of a key. */
export function macBytes(key: number): Uint8Array {
  const out = new Uint8Array(6);
  let k = key;
  for (let i = 5; i >= 0; i--) {
    out[i] = k % 256;
    k = Math.floor(k / 256);
  }
  return out;
}

/** The group bit of a key: multicast and broadcast MACs (the broadcast key included). */
export function isMulticastKey(key: number): boolean {
  return Math.floor(key / 0x100_0000_0000) % 2 === 1;
}

function isStatic(state: number): boolean {
  return (state & (NUD_PERMANENT | NUD_NOARP)) !== 0;
}

function sameRemote(r: FdbRemote, ip: number, port: number, vni: number, ifindex: number): boolean {
  return r.ip === ip && r.port === port && r.vni === vni && r.ifindex === ifindex;
}

export class Fdb {
  /** MAC key -> entry. Map iteration is insertion order: oldest first. */
  private readonly entries = new Map<number, FdbEntry>();

  constructor(public config: FdbConfig) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry of a MAC without touching it (`__vxlan_find_mac`). */
  get(mac: number): FdbEntry | undefined {
    return this.entries.get(mac);
  }

  /**
   * Where a frame to the MAC at `bytes[offset]` goes (vxlan_xmit): its own entry, else the default
   * entry; null when there is neither (the frame is dropped, tx_dropped). Marks the entries used.
   */
  destination(bytes: Uint8Array, offset: number, now: number): FdbEntry | null {
    const own = this.entries.get(macKey(bytes, offset));
    if (own !== undefined) {
      own.used = now;
      return own;
    }
    const fallback = this.entries.get(ZERO_MAC);
    if (fallback === undefined) return null;
    fallback.used = now;
    return fallback;
  }

  /**
   * vxlan_snoop for a frame whose source MAC is at `bytes[offset]` and that came from outer address
   * `ip`. Call only when learning is on.
   */
  learn(bytes: Uint8Array, offset: number, ip: number, now: number): LearnResult {
    const mac = macKey(bytes, offset);
    if (mac === ZERO_MAC || isMulticastKey(mac)) return 'invalid-source';
    const entry = this.entries.get(mac);
    if (entry !== undefined) {
      entry.updated = now;
      const first = entry.remotes[0];
      if (first.ip === ip && first.ifindex === 0) return 'ok';
      if (isStatic(entry.state)) return 'static-conflict';
      first.ip = ip;
      return 'ok';
    }
    this.create(mac, NUD_REACHABLE, NTF_SELF, { ip, port: this.config.port, vni: this.config.vni, ifindex: 0 }, now);
    return 'ok';
  }

  /** Creates an entry unless the table is full (vxlan_fdb_create). */
  private create(mac: number, state: number, flags: number, remote: FdbRemote, now: number): ErrnoName | null {
    const max = this.config.maxAddresses;
    if (max !== 0 && this.entries.size >= max) return 'ENOSPC';
    this.entries.set(mac, { mac, state, flags, remotes: [remote], used: now, updated: now });
    return null;
  }

  /**
   * The default entry a device with a `remote` or `group` starts with (permanent, `via` its `dev`).
   * Exempt from `maxaddress`, as it is made before the device's first entry counts.
   */
  addDefault(remote: FdbRemote, now: number): void {
    this.entries.set(ZERO_MAC, {
      mac: ZERO_MAC,
      state: NUD_REACHABLE | NUD_PERMANENT,
      flags: NTF_SELF,
      remotes: [remote],
      used: now,
      updated: now,
    });
  }

  /** RTM_NEWNEIGH on the device (vxlan_fdb_add, vxlan_fdb_update): the kernel's errno, or null. */
  update(request: FdbRequest, now: number): ErrnoName | null {
    if ((request.state & (NUD_PERMANENT | NUD_REACHABLE)) === 0) return 'EINVAL';
    if (!request.hasIp) return 'EINVAL';
    const remote: FdbRemote = {
      ip: request.ip,
      port: request.port ?? this.config.port,
      vni: request.vni ?? this.config.vni,
      ifindex: request.ifindex,
    };
    const flags = (request.flags & ~NTF_USE) | NTF_VXLAN_ADDED_BY_USER;
    const groupMac = request.mac === ZERO_MAC || isMulticastKey(request.mac);
    const entry = this.entries.get(request.mac);
    if (entry === undefined) {
      if ((request.nlFlags & NLM_F_CREATE) === 0) return 'ENOENT';
      // "Disallow replace to add a multicast entry".
      if (request.nlFlags & NLM_F_REPLACE && groupMac) return 'EOPNOTSUPP';
      return this.create(request.mac, request.state, flags, remote, now);
    }
    if (request.nlFlags & NLM_F_EXCL) return 'EEXIST';
    let changed = false;
    if (entry.state !== request.state) {
      entry.state = request.state;
      changed = true;
    }
    if (entry.flags !== flags) {
      entry.flags = flags;
      changed = true;
    }
    if (request.nlFlags & NLM_F_REPLACE) {
      // "Cannot replace non-unicast fdb entries."
      if (groupMac) return 'EOPNOTSUPP';
      const first = entry.remotes[0];
      if (!entry.remotes.some((r) => sameRemote(r, remote.ip, remote.port, remote.vni, remote.ifindex))) {
        Object.assign(first, remote);
        changed = true;
      }
    }
    if (request.nlFlags & NLM_F_APPEND && groupMac) {
      if (!entry.remotes.some((r) => sameRemote(r, remote.ip, remote.port, remote.vni, remote.ifindex))) {
        entry.remotes.push(remote);
        changed = true;
      }
    }
    if (request.flags & NTF_USE || changed) entry.updated = now;
    return null;
  }

  /**
   * RTM_DELNEIGH (vxlan_fdb_delete): without a destination the whole entry goes; with one only that
   * remote, unless it is the last (then the entry goes), and nothing when no remote matches.
   */
  delete(request: Pick<FdbRequest, 'mac' | 'ip' | 'port' | 'vni' | 'ifindex'>): ErrnoName | null {
    const entry = this.entries.get(request.mac);
    if (entry === undefined) return 'ENOENT';
    if (request.ip !== 0) {
      const port = request.port ?? this.config.port;
      const vni = request.vni ?? this.config.vni;
      const index = entry.remotes.findIndex((r) => sameRemote(r, request.ip, port, vni, request.ifindex));
      if (index < 0) return null;
      if (entry.remotes.length > 1) {
        entry.remotes.splice(index, 1);
        return null;
      }
    }
    this.entries.delete(request.mac);
    return null;
  }

  /**
   * Removes the dynamic entries not refreshed for `ageing` seconds (vxlan_cleanup); returns when to
   * call again (ms, same clock as `now`).
   */
  expire(now: number): number {
    const lifetime = this.config.ageing * 1000;
    let next = now + FDB_AGE_INTERVAL_MS;
    for (const [mac, entry] of this.entries) {
      if (isStatic(entry.state) || entry.flags & NTF_EXT_LEARNED) continue;
      const due = entry.updated + lifetime;
      if (due <= now) this.entries.delete(mac);
      else if (due < next) next = due;
    }
    return next;
  }

  /** What going down does (vxlan_stop): every entry that is neither permanent nor static goes. */
  flushDynamic(): void {
    for (const [mac, entry] of this.entries) if (!isStatic(entry.state)) this.entries.delete(mac);
  }

  /** Every entry, newest first (the order `bridge fdb show` prints). */
  list(): FdbEntry[] {
    return [...this.entries.values()].reverse();
  }

  /**
   * The entries a restarted daemon must put back, oldest first: the default entry and everything a user
   * added (learned entries are learned again).
   */
  persistent(): FdbEntry[] {
    return [...this.entries.values()].filter((e) => e.mac === ZERO_MAC || (e.flags & NTF_VXLAN_ADDED_BY_USER) !== 0);
  }

  /** Puts entries back (from `persistent()`, as of `now`), replacing what the table had for their MACs. */
  restore(entries: readonly Pick<FdbEntry, 'mac' | 'state' | 'flags' | 'remotes'>[], now: number): void {
    for (const e of entries) {
      const remotes = e.remotes.map((r) => ({ ip: r.ip, port: r.port, vni: r.vni, ifindex: r.ifindex }));
      this.entries.set(e.mac, { mac: e.mac, state: e.state, flags: e.flags, remotes, used: now, updated: now });
    }
  }
}
