/**
 * The configuration of one IP tunnel, as `ip tunnel` gives it to the kernel.
 *
 * This mirrors the kernel's `struct ip_tunnel_parm` (include/uapi/linux/if_tunnel.h), because the
 * command line builds exactly what iproute2 would send in its SIOCADDTUNNEL ioctl and the daemon applies
 * the kernel's rules to it. IPv4 addresses are unsigned 32-bit numbers in host order (0 = any).
 */

export type TunnelMode = 'ipip' | 'gre' | 'sit' | 'isatap' | 'vti';

export const TUNNEL_MODES: readonly TunnelMode[] = ['ipip', 'gre', 'sit', 'isatap', 'vti'];

/** GRE flag bits as they sit in the first 16 bits of the GRE header (RFC 2784/2890), also used by
 * the kernel's i_flags/o_flags. */
export const GRE_CSUM = 0x8000;
export const GRE_ROUTING = 0x4000;
export const GRE_KEY = 0x2000;
export const GRE_SEQ = 0x1000;
/** i_flags bit the kernel uses to mark a sit device as ISATAP (SIT_ISATAP); also VTI_ISVTI for vti. */
export const SIT_ISATAP = 0x0001;
export const VTI_ISVTI = 0x0001;

export interface TunnelParams {
  /** Interface name, 1..15 bytes. */
  name: string;
  mode: TunnelMode;
  /** Outer destination; 0 = any (NBMA). */
  remote: number;
  /** Outer source; 0 = any. */
  local: number;
  /** ifindex of the underlay device the tunnel is bound to (`dev`); 0 = none. */
  link: number;
  /** Outer TTL; 0 = inherit. */
  ttl: number;
  /** Outer TOS; bit 0 set = inherit (the rest is the fallback DS field). */
  tos: number;
  /** DF on the outer header (pmtudisc, the default) or not (nopmtudisc). */
  pmtudisc: boolean;
  /** Input flags: GRE_KEY, GRE_SEQ, GRE_CSUM (and SIT_ISATAP / VTI_ISVTI). */
  iflags: number;
  /** Output flags: GRE_KEY, GRE_SEQ, GRE_CSUM. */
  oflags: number;
  /** Input key (meaningful with GRE_KEY in iflags), unsigned 32-bit. */
  ikey: number;
  /** Output key (meaningful with GRE_KEY in oflags), unsigned 32-bit. */
  okey: number;
}

/** IP protocol number a mode's outer packets carry. */
export function protocolOfMode(mode: TunnelMode): 4 | 41 | 47 {
  switch (mode) {
    case 'ipip':
    case 'vti':
      return 4;
    case 'gre':
      return 47;
    case 'sit':
    case 'isatap':
      return 41;
  }
}

/**
 * The IP protocol a mode's device receives from the underlay: vti's packets arrive as ESP (50), the
 * others as their own protocol. Each has a table of its own, as each kernel driver does.
 */
export function underlayProtocolOfMode(mode: TunnelMode): 4 | 41 | 47 | 50 {
  return mode === 'vti' ? 50 : protocolOfMode(mode);
}

/** The parameters iproute2 starts from before it reads the command line (spec 1.2). */
export function defaultTunnelParams(): TunnelParams {
  return {
    name: '',
    mode: 'ipip',
    remote: 0,
    local: 0,
    link: 0,
    ttl: 0,
    tos: 0,
    pmtudisc: true,
    iflags: 0,
    oflags: 0,
    ikey: 0,
    okey: 0,
  };
}

/** 6rd / 6to4 configuration of a sit tunnel (spec 3.9). Prefixes are 16 and 4 bytes. */
export interface SixRdParams {
  prefix: Uint8Array;
  prefixLength: number;
  relayPrefix: number;
  relayPrefixLength: number;
}

/** Whether a value read from outside (a request, the state file) has the shape of TunnelParams. */
export function isTunnelParams(value: unknown): value is TunnelParams {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  const numbers = ['remote', 'local', 'link', 'ttl', 'tos', 'iflags', 'oflags', 'ikey', 'okey'];
  return (
    typeof p.name === 'string' &&
    TUNNEL_MODES.includes(p.mode as TunnelMode) &&
    typeof p.pmtudisc === 'boolean' &&
    numbers.every((k) => typeof p[k] === 'number')
  );
}
