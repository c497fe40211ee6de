/**
 * The tunnel table: identity (which configurations are duplicates) and the receive lookup that picks
 * the tunnel for an incoming outer packet, in the kernel's order (spec 3.3, 3.4;
 * net/ipv4/ip_tunnel.c ip_tunnel_find / ip_tunnel_lookup, net/ipv6/sit.c ipip6_tunnel_lookup).
 *
 * ipip, gre and sit each have a table of their own, as each kernel driver has its own per-namespace
 * table. Within a pass the kernel walks a hash chain where the newest tunnel comes first; the lists
 * here keep that order, so ties resolve as they do in the kernel.
 */
import { isMulticastIpv4 } from '../wire/address.js';
import { GRE_KEY, underlayProtocolOfMode, type TunnelParams } from './params.js';
import type { Tunnel } from './tunnel.js';

/** The key a received packet carries; `present` false for ipip/sit and keyless GRE. */
export interface PacketKey {
  present: boolean;
  value: number;
}

/** ip_tunnel_key_match: a keyed tunnel wants that key, a keyless one wants no key. */
function keyMatches(params: TunnelParams, keyPresent: boolean, key: number): boolean {
  if (params.iflags & GRE_KEY) return keyPresent && key === params.ikey;
  return !keyPresent;
}

/** Tunnels of one protocol (4, 41 or 47), indexed for the lookup passes. */
class ProtocolTable {
  /** Newest first. */
  private readonly all: Tunnel[] = [];
  /** remote (non-zero, unicast) -> tunnels, newest first: passes 1 and 2. */
  private readonly byRemote = new Map<number, Tunnel[]>();
  /** Tunnels whose remote is any or multicast: passes 3 and 4. */
  private readonly wildcard: Tunnel[] = [];

  constructor(readonly protocol: number) {}

  add(t: Tunnel): void {
    this.all.unshift(t);
    const remote = t.params.remote;
    if (remote !== 0 && !isMulticastIpv4(remote)) {
      let list = this.byRemote.get(remote);
      if (!list) this.byRemote.set(remote, (list = []));
      list.unshift(t);
    } else {
      this.wildcard.unshift(t);
    }
  }

  remove(t: Tunnel): void {
    removeFrom(this.all, t);
    removeFrom(this.wildcard, t);
    for (const [remote, list] of this.byRemote) {
      if (removeFrom(list, t) && list.length === 0) this.byRemote.delete(remote);
    }
  }

  get tunnels(): readonly Tunnel[] {
    return this.all;
  }

  /** ip_tunnel_lookup (ipip, gre). `key.present` false and `noKey` true for ipip. */
  lookupIp(link: number, keyPresent: boolean, key: number, noKey: boolean, remote: number, local: number): Tunnel | null {
    let cand: Tunnel | null = null;
    const chain = this.byRemote.get(remote);
    if (chain) {
      // Pass 1: remote and local both match. The kernel keeps the last match as candidate here.
      for (let i = 0; i < chain.length; i++) {
        const t = chain[i];
        const p = t.params;
        if (p.local !== local || !t.up || !keyMatches(p, keyPresent, key)) continue;
        if (p.link === link) return t;
        cand = t;
      }
      // Pass 2: remote matches, local any.
      for (let i = 0; i < chain.length; i++) {
        const t = chain[i];
        const p = t.params;
        if (p.local !== 0 || !t.up || !keyMatches(p, keyPresent, key)) continue;
        if (p.link === link) return t;
        if (!cand) cand = t;
      }
    }
    const wild = this.wildcard;
    // Pass 3: remote any and local matches, or a multicast tunnel whose group is the destination.
    for (let i = 0; i < wild.length; i++) {
      const t = wild[i];
      const p = t.params;
      const localMatch = p.local === local && p.remote === 0;
      const groupMatch = p.remote === local && isMulticastIpv4(local);
      if ((!localMatch && !groupMatch) || !t.up || !keyMatches(p, keyPresent, key)) continue;
      if (p.link === link) return t;
      if (!cand) cand = t;
    }
    // Pass 4: remote and local any, matched on the input key alone (no key-flag check, as in the kernel).
    for (let i = 0; i < wild.length; i++) {
      const t = wild[i];
      const p = t.params;
      if ((!noKey && p.ikey !== (keyPresent ? key : 0)) || p.local !== 0 || p.remote !== 0 || !t.up) continue;
      if (p.link === link) return t;
      if (!cand) cand = t;
    }
    return cand;
  }

  /** ipip6_tunnel_lookup (sit): exact, remote only, local only, then remote-and-local any. */
  lookupSit(link: number, remote: number, local: number): Tunnel | null {
    const linkOk = (p: TunnelParams): boolean => p.link === 0 || p.link === link;
    const chain = this.byRemote.get(remote);
    if (chain) {
      for (const t of chain) if (t.up && t.params.local === local && linkOk(t.params)) return t;
      for (const t of chain) if (t.up && t.params.local === 0 && linkOk(t.params)) return t;
    }
    for (const t of this.wildcard) {
      if (t.up && t.params.remote === 0 && t.params.local === local && local !== 0 && linkOk(t.params)) return t;
    }
    // tunnels_wc holds the remote-any/local-any tunnels; only the first is considered, with no link check.
    for (const t of this.wildcard) {
      if (t.params.remote === 0 && t.params.local === 0) return t.up ? t : null;
    }
    return null;
  }
}

function removeFrom(list: Tunnel[], t: Tunnel): boolean {
  const i = list.indexOf(t);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

export class TunnelTable {
  private readonly byName = new Map<string, Tunnel>();
  private readonly tables = new Map<number, ProtocolTable>([
    [4, new ProtocolTable(4)],
    [41, new ProtocolTable(41)],
    [47, new ProtocolTable(47)],
    // vti (ip_vti.c's own ip_tunnel_net): looked up without keys, for ESP from the tunnel's peer.
    [50, new ProtocolTable(50)],
  ]);

  get size(): number {
    return this.byName.size;
  }

  get(name: string): Tunnel | undefined {
    return this.byName.get(name);
  }

  /** Every tunnel, oldest first (the order `show` lists them in, as ifindex order does). */
  list(): Tunnel[] {
    return [...this.byName.values()];
  }

  /** Tunnels using one outer protocol, newest first. */
  ofProtocol(protocol: number): readonly Tunnel[] {
    return this.tables.get(protocol)?.tunnels ?? [];
  }

  add(t: Tunnel): void {
    this.byName.set(t.name, t);
    this.table(t.params).add(t);
  }

  remove(t: Tunnel): void {
    this.byName.delete(t.name);
    this.table(t.params).remove(t);
  }

  /** Re-index a tunnel after its addresses or keys changed (ip_tunnel_update: unlink, change, link). */
  update(t: Tunnel, params: TunnelParams): void {
    this.remove(t);
    t.params = params;
    this.add(t);
  }

  /**
   * The tunnel an `add` with these parameters would duplicate (spec 3.3): ipip/gre/vti compare
   * (local, remote, link, key match); sit compares (local, remote, link).
   */
  findIdentical(params: TunnelParams): Tunnel | null {
    const table = this.table(params);
    for (const t of table.tunnels) {
      const p = t.params;
      if (p.local !== params.local || p.remote !== params.remote || p.link !== params.link) continue;
      // sit, and vti (whose ioctl looks the tunnel up with i_flags = VTI_ISVTI, so no key), ignore keys.
      if (table.protocol === 41 || table.protocol === 50 || keyMatches(p, (params.iflags & GRE_KEY) !== 0, params.ikey)) return t;
    }
    return null;
  }

  /** Receive lookup for ipip (noKey) and gre packets. */
  lookupIp(protocol: 4 | 47, link: number, key: PacketKey, remote: number, local: number): Tunnel | null {
    return this.tables.get(protocol)!.lookupIp(link, key.present, key.value, protocol === 4, remote, local);
  }

  /** Receive lookup for ESP on vti tunnels (vti_input: ip_tunnel_lookup with no key). */
  lookupVti(link: number, remote: number, local: number): Tunnel | null {
    return this.tables.get(50)!.lookupIp(link, false, 0, true, remote, local);
  }

  /** Receive lookup for sit packets. */
  lookupSit(link: number, remote: number, local: number): Tunnel | null {
    return this.tables.get(41)!.lookupSit(link, remote, local);
  }

  private table(params: TunnelParams): ProtocolTable {
    return this.tables.get(underlayProtocolOfMode(params.mode))!;
  }
}
