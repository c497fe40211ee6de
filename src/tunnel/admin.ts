/**
 * What the kernel does with SIOCADDTUNNEL, SIOCCHGTUNNEL and SIOCDELTUNNEL, as pure decisions over the
 * tunnel table (net/ipv4/ip_tunnel.c ip_tunnel_ctl, net/ipv4/ipip.c ipip_tunnel_ctl, net/ipv4/ip_gre.c
 * ipgre_tunnel_ctl, net/ipv6/sit.c ipip6_tunnel_ctl). The daemon runs these, then does the I/O.
 * Refusals are BurrowErrors with the errno the kernel returns, so the CLI prints what iproute2 prints.
 */
import { BurrowError } from '../errors.js';
import { GRE_CSUM, GRE_KEY, GRE_ROUTING, GRE_SEQ, SIT_ISATAP, type TunnelParams } from './params.js';
import { isMulticastIpv4 } from '../wire/address.js';
import type { TunnelTable } from './table.js';
import { tunnelHeaderLength, type Tunnel } from './tunnel.js';

/** GRE version bits in the flags word (the kernel refuses them in a configuration). */
const GRE_VERSION_BITS = 0x0007;
const GRE_KNOWN = GRE_CSUM | GRE_KEY | GRE_SEQ;

/** Interface names: 1..15 bytes, not `.` or `..`, no `/`, `:` or white space (dev_valid_name). */
export function validInterfaceName(name: string): boolean {
  const bytes = Buffer.byteLength(name);
  return bytes > 0 && bytes < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** Checks what the kernel checks before it looks at the table. */
export function validateParams(p: TunnelParams): void {
  const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  const u8 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xff;
  if (p.name !== '' && !validInterfaceName(p.name)) throw new BurrowError('EINVAL', `bad name "${p.name}"`);
  if (![p.remote, p.local, p.ikey, p.okey, p.link].every(u32) || !u8(p.ttl) || !u8(p.tos)) {
    throw new BurrowError('EINVAL', 'a field is out of range');
  }
  if (!u32(p.iflags) || !u32(p.oflags)) throw new BurrowError('EINVAL', 'bad flags');
  if (p.mode === 'isatap' || p.mode === 'vti') {
    throw new BurrowError('EOPNOTSUPP', `mode ${p.mode} is not implemented yet`);
  }
  if (p.mode === 'gre') {
    if ((p.iflags | p.oflags) & (GRE_ROUTING | GRE_VERSION_BITS)) throw new BurrowError('EINVAL', 'GRE routing or version flags');
    // ipgre_tunnel_init: a multicast GRE tunnel needs a source address.
    if (isMulticastIpv4(p.remote) && p.local === 0) throw new BurrowError('EINVAL', 'multicast remote without local');
  }
}

/** The kernel's normalisation of a configuration it accepts. */
export function normalizeParams(p: TunnelParams): TunnelParams {
  const n = { ...p };
  // A fixed TTL forces DF (ip_tunnel_ctl, ipip6_tunnel_ctl).
  if (n.ttl !== 0) n.pmtudisc = true;
  if (n.mode === 'ipip') {
    n.iflags = n.oflags = n.ikey = n.okey = 0;
  } else if (n.mode === 'gre') {
    n.iflags &= GRE_KNOWN;
    n.oflags &= GRE_KNOWN;
  } else {
    n.iflags &= SIT_ISATAP;
    n.oflags = 0;
  }
  if (!(n.iflags & GRE_KEY)) n.ikey = 0;
  if (!(n.oflags & GRE_KEY)) n.okey = 0;
  return n;
}

/** The kernel names a tunnel created without a name `<kind>%d`; the fallback devices hold gre0 and sit0. */
export function automaticName(p: TunnelParams, taken: (name: string) => boolean): string {
  const kind = p.mode === 'gre' ? 'gre' : p.mode === 'ipip' ? 'ipip' : p.mode === 'vti' ? 'vti' : 'sit';
  const reserved = new Set(['gre0', 'sit0']);
  for (let i = 0; ; i++) {
    const name = `${kind}${i}`;
    if (!reserved.has(name) && !taken(name)) return name;
  }
}

/**
 * SIOCADDTUNNEL. Returns the normalised parameters of the tunnel to create.
 * `deviceExists` says whether an interface of that name exists (a tunnel or anything else).
 */
export function planAdd(table: TunnelTable, requested: TunnelParams, deviceExists: (name: string) => boolean): TunnelParams {
  validateParams(requested);
  const params = normalizeParams(requested);
  // sit says ENOBUFS both for a duplicate and for a failed creation (ipip6_tunnel_locate returns NULL).
  const duplicate = params.mode === 'sit' ? 'ENOBUFS' : 'EEXIST';
  if (table.findIdentical(params)) throw new BurrowError(duplicate, 'a tunnel with these endpoints exists');
  if (params.name === '') params.name = automaticName(params, deviceExists);
  else if (deviceExists(params.name)) throw new BurrowError(duplicate, `an interface named ${params.name} exists`);
  return params;
}

export interface ChangePlan {
  params: TunnelParams;
  /** The tunnel's new MTU, or null to leave it. */
  mtu: number | null;
  /** Whether the underlay binding changed, so the MTU must be recomputed from the route (bind_dev). */
  rebind: boolean;
}

/** Point-to-point (unicast remote), broadcast (multicast remote) or NBMA (remote any). */
function addressing(remote: number): 'p2p' | 'broadcast' | 'nbma' {
  if (remote === 0) return 'nbma';
  return isMulticastIpv4(remote) ? 'broadcast' : 'p2p';
}

/**
 * SIOCCHGTUNNEL on `tunnel`'s device. `currentMtu` is the device's MTU now (the user may have set it).
 * When `rebind` is true the caller recomputes the MTU from the route, as the kernel does on a change of
 * `dev`; otherwise a GRE header change moves the MTU by the header's change (ipgre_link_update).
 */
export function planChange(table: TunnelTable, tunnel: Tunnel, requested: TunnelParams, currentMtu: number): ChangePlan {
  const old = tunnel.params;
  // The driver of the device checks the protocol: an ipip device refuses a GRE configuration.
  if (requested.mode !== old.mode) throw new BurrowError('EINVAL', 'the tunnel has another mode');
  validateParams({ ...requested, name: old.name });
  const params = normalizeParams({ ...requested, name: old.name });
  if (params.mode === 'sit') params.iflags = old.iflags; // ipip6_tunnel_update keeps i_flags
  const other = table.findIdentical(params);
  if (other && other !== tunnel) throw new BurrowError('EEXIST', 'another tunnel has these endpoints');
  if (!other && addressing(params.remote) !== addressing(old.remote)) {
    throw new BurrowError('EINVAL', 'cannot switch between point-to-point, broadcast and NBMA');
  }
  const rebind = params.link !== old.link;
  let mtu: number | null = null;
  if (!rebind && params.mode === 'gre') {
    const delta = tunnelHeaderLength(params) - tunnelHeaderLength(old);
    if (delta !== 0) mtu = Math.max(currentMtu - delta, 68);
  }
  return { params, mtu, rebind };
}

/** SIOCDELTUNNEL through the fallback device: the tunnel whose identity matches, or ENOENT. */
export function findForDelete(table: TunnelTable, requested: TunnelParams): Tunnel {
  const t = table.findIdentical(normalizeParams(requested));
  if (!t) throw new BurrowError('ENOENT', 'no tunnel matches');
  return t;
}
