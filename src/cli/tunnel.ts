/**
 * `burrow tunnel {add|change|del|show|prl|6rd|help}`: ip/iptunnel.c's grammar, checks and messages.
 *
 * The parser builds what iproute2 builds, an `ip_tunnel_parm` (`Parm` below: protocol number, flags,
 * keys), in the same order and with the same failures, and only then talks to the daemon, as iproute2
 * only then issues its ioctl. The one exception is iproute2's too: `change NAME ...` with NAME first
 * loads the tunnel's current settings in the middle of parsing (spec 1.5).
 *
 * Dispatch (spec 1.1): a pre-scan for `mode` with an IPv6-outer mode (refused: burrow has no `ip -6
 * tunnel`), then the command word by prefix in the order add, change, delete, show/lst/list, prl, 6rd,
 * help. No command means show.
 *
 * Deliberate difference (docs/cli-differences.md): burrow has no fallback devices, so `show` with a
 * mode but no name lists every tunnel of that mode's driver instead of querying tunl0/gre0/sit0/ip_vti0.
 */
import type { TunnelClient } from '../control/client.js';
import type { PrlRequest, SixRdRequest, TunnelInfo } from '../control/protocol.js';
import { BurrowError } from '../errors.js';
import {
  GRE_CSUM,
  GRE_KEY,
  GRE_SEQ,
  SIT_ISATAP,
  VTI_ISVTI,
  protocolOfMode,
  type TunnelMode,
  type TunnelParams,
} from '../tunnel/params.js';
import { ArgCursor, matches } from './argv.js';
import type { DsfieldTable } from './dsfield.js';
import { getAddr32, getIpv4Prefix, getIpv6Prefix, getU8, getUnsigned, isCSpace, isMulticast } from './inet.js';
import { linkIndex, type LinkTable } from './links.js';
import { AF_INET, AF_INET6, AF_UNSPEC, type GlobalOptions } from './options.js';
import { formatTunnels, type ShownTunnel } from './print.js';
import {
  TUNNEL_USAGE,
  broadcastNeedsSource,
  cannotDetermineMode,
  cannotFindDevice,
  daemonUnreachable,
  duplicateArgument,
  invalid6rdParameter,
  invalidArgument,
  invalidKey,
  invalidPrlParameter,
  ioctlRefused,
  ipv6TunnelsUnsupported,
  keysNotAllowed,
  moreThanOneMode,
  mustSpecifyDevice,
  onePrlEntry,
  tunnelRefused,
  ttlWithNopmtudisc,
  unknownCommand,
  unknownTunnelMode,
  unsupportedFamily,
  usage,
} from './usage-errors.js';

export interface TunnelContext {
  options: GlobalOptions;
  /** The daemon; connects on the first call. Throws a UsageError ('daemon') when it cannot. */
  client(): Promise<TunnelClient>;
  links: LinkTable;
  dsfield: DsfieldTable;
}

const IPPROTO_IPIP = 4;
const IPPROTO_IPV6 = 41;
const IPPROTO_GRE = 47;

/** iproute2's `struct ip_tunnel_parm` as the parser fills it (addresses and keys host order). */
export interface Parm {
  name: string;
  /** 0 until a mode is given or inferred. */
  protocol: number;
  remote: number;
  local: number;
  link: number;
  ttl: number;
  tos: number;
  /** DF (pmtudisc). */
  df: boolean;
  iflags: number;
  oflags: number;
  ikey: number;
  okey: number;
}

type ParseFor = 'add' | 'change' | 'del' | 'show';

/** The modes that send iproute2 to `ip -6 tunnel` (ip/iptunnel.c `tunnel_mode_is_ipv6`). */
const IPV6_MODES = new Set([
  'ipv6/ipv6',
  'ip6ip6',
  'vti6',
  'ip/ipv6',
  'ipv4/ipv6',
  'ipip6',
  'ip4ip6',
  'ip6gre',
  'gre/ipv6',
  'any/ipv6',
  'any',
]);

/** What `parse_args` starts from (spec 1.2): all zero, DF on. */
export function emptyParm(): Parm {
  return {
    name: '',
    protocol: 0,
    remote: 0,
    local: 0,
    link: 0,
    ttl: 0,
    tos: 0,
    df: true,
    iflags: 0,
    oflags: 0,
    ikey: 0,
    okey: 0,
  };
}

/** A tunnel's settings as SIOCGETTUNNEL reports them, for `change NAME ...`. */
export function parmOfParams(params: TunnelParams): Parm {
  let iflags = params.iflags;
  if (params.mode === 'vti') iflags |= VTI_ISVTI;
  if (params.mode === 'isatap') iflags |= SIT_ISATAP;
  return {
    name: params.name,
    protocol: protocolOfMode(params.mode),
    remote: params.remote >>> 0,
    local: params.local >>> 0,
    link: params.link,
    ttl: params.ttl,
    tos: params.tos,
    df: params.pmtudisc,
    iflags,
    oflags: params.oflags,
    ikey: params.ikey >>> 0,
    okey: params.okey >>> 0,
  };
}

/** The mode a parsed protocol and flag set stand for; undefined while the protocol is unknown. */
export function modeOfParm(p: Parm): TunnelMode | undefined {
  switch (p.protocol) {
    case IPPROTO_IPIP:
      return p.iflags & VTI_ISVTI ? 'vti' : 'ipip';
    case IPPROTO_GRE:
      return 'gre';
    case IPPROTO_IPV6:
      return p.iflags & SIT_ISATAP ? 'isatap' : 'sit';
    default:
      return undefined;
  }
}

/** `tnl_defname()`: the fallback device the ioctl goes through, named in iproute2's messages. */
export function fallbackDevice(p: Parm): string | undefined {
  switch (p.protocol) {
    case IPPROTO_IPIP:
      return p.iflags & VTI_ISVTI ? 'ip_vti0' : 'tunl0';
    case IPPROTO_GRE:
      return 'gre0';
    case IPPROTO_IPV6:
      return 'sit0';
    default:
      return undefined;
  }
}

/** The request body: what SIOCADDTUNNEL would carry. */
export function paramsOfParm(p: Parm, mode: TunnelMode): TunnelParams {
  return {
    name: p.name,
    mode,
    remote: p.remote,
    local: p.local,
    link: p.link,
    ttl: p.ttl,
    tos: p.tos,
    pmtudisc: p.df,
    iflags: p.iflags,
    oflags: p.oflags,
    ikey: p.ikey,
    okey: p.okey,
  };
}

/** lib/utils.c `check_ifname()` (iproute2 6.1): 1..15 bytes, no '/' and no blanks. */
export function isValidIfname(name: string): boolean {
  if (name.length === 0 || Buffer.byteLength(name) >= 16) return false;
  for (const ch of name) if (ch === '/' || isCSpace(ch)) return false;
  return true;
}

/** ip/tunnel.c `tnl_parse_key()`: a dotted quad, or an unsigned 32-bit C number. */
function parseKey(keyword: string, text: string): number {
  if (text.includes('.')) return getAddr32(text);
  const value = getUnsigned(text, 0);
  if (value === undefined) throw invalidKey(keyword, text);
  return value;
}

/** `tos`/`tclass`/`dsfield` value (spec 1.2): [inherit][/]DSFIELD, a name or hex. */
function parseTos(text: string, dsfield: DsfieldTable): number {
  // iproute2 cuts the word at the first '/' in place, so its errors name only the part before it.
  const slash = text.indexOf('/');
  const head = slash < 0 ? text : text.slice(0, slash);
  let tos: number;
  let field: string | undefined;
  if (head !== 'inherit') {
    tos = 0;
    field = head;
  } else {
    tos = 1;
    field = slash < 0 ? undefined : text.slice(slash + 1);
  }
  if (field !== undefined) {
    const value = dsfield.parse(field);
    if (value === undefined) throw invalidArgument('bad TOS value', head);
    tos |= value;
  }
  return tos;
}

async function getTunnel(ctx: TunnelContext, name: string): Promise<ShownTunnel> {
  try {
    const client = await ctx.client();
    return await client.request({ op: 'tunnel.get', name });
  } catch (error) {
    if (error instanceof BurrowError) throw tunnelRefused('get', name, error);
    throw error;
  }
}

/** ip/iptunnel.c `parse_args()`, including its checks after the loop, in its order (spec 1.3). */
export async function parseTunnelArgs(args: readonly string[], cmd: ParseFor, ctx: TunnelContext): Promise<Parm> {
  let p = emptyParm();
  let medium: string | undefined;
  let isatap = false;
  const setProtocol = (protocol: number) => {
    if (p.protocol !== 0 && p.protocol !== protocol) throw moreThanOneMode();
    p.protocol = protocol;
  };
  const cur = new ArgCursor(args);
  for (let count = 0; !cur.done; count++) {
    const word = cur.next()!;
    if (word === 'mode') {
      const mode = cur.expect();
      if (mode === 'ipip' || mode === 'ip/ip') setProtocol(IPPROTO_IPIP);
      else if (mode === 'gre' || mode === 'gre/ip') setProtocol(IPPROTO_GRE);
      else if (mode === 'sit' || mode === 'ipv6/ip') setProtocol(IPPROTO_IPV6);
      else if (mode === 'isatap') {
        setProtocol(IPPROTO_IPV6);
        isatap = true;
      } else if (mode === 'vti') {
        setProtocol(IPPROTO_IPIP);
        p.iflags |= VTI_ISVTI;
      } else throw unknownTunnelMode(mode);
    } else if (word === 'key') {
      const key = parseKey('key', cur.expect());
      p.iflags |= GRE_KEY;
      p.oflags |= GRE_KEY;
      p.ikey = p.okey = key;
    } else if (word === 'ikey') {
      p.ikey = parseKey('ikey', cur.expect());
      p.iflags |= GRE_KEY;
    } else if (word === 'okey') {
      p.okey = parseKey('okey', cur.expect());
      p.oflags |= GRE_KEY;
    } else if (word === 'seq') {
      p.iflags |= GRE_SEQ;
      p.oflags |= GRE_SEQ;
    } else if (word === 'iseq') {
      p.iflags |= GRE_SEQ;
    } else if (word === 'oseq') {
      p.oflags |= GRE_SEQ;
    } else if (word === 'csum') {
      p.iflags |= GRE_CSUM;
      p.oflags |= GRE_CSUM;
    } else if (word === 'icsum') {
      p.iflags |= GRE_CSUM;
    } else if (word === 'ocsum') {
      p.oflags |= GRE_CSUM;
    } else if (word === 'nopmtudisc') {
      p.df = false;
    } else if (word === 'pmtudisc') {
      p.df = true;
    } else if (word === 'remote') {
      p.remote = getAddr32(cur.expect());
    } else if (word === 'local') {
      p.local = getAddr32(cur.expect());
    } else if (word === 'dev') {
      medium = cur.expect();
    } else if (word === 'ttl' || word === 'hoplimit' || word === 'hlim') {
      const ttl = cur.expect();
      // `inherit` leaves an earlier ttl in place, as in iproute2.
      if (ttl !== 'inherit') {
        const value = getU8(ttl, 0);
        if (value === undefined) throw invalidArgument('invalid TTL\n', ttl);
        p.ttl = value;
      }
    } else if (word === 'tos' || word === 'tclass' || matches(word, 'dsfield')) {
      p.tos = parseTos(cur.expect(), ctx.dsfield);
    } else {
      let name = word;
      if (word === 'name') name = cur.expect();
      else if (matches(word, 'help')) throw usage(TUNNEL_USAGE);
      if (p.name !== '') throw duplicateArgument('name', name);
      if (!isValidIfname(name)) throw invalidArgument('"name" not a valid ifname', name);
      p.name = name;
      if (cmd === 'change' && count === 0) p = parmOfParams((await getTunnel(ctx, name)).params);
    }
  }

  if (p.protocol === 0) {
    if (p.name.startsWith('gre')) p.protocol = IPPROTO_GRE;
    else if (p.name.startsWith('ipip')) p.protocol = IPPROTO_IPIP;
    else if (p.name.startsWith('sit')) p.protocol = IPPROTO_IPV6;
    else if (p.name.startsWith('isatap')) {
      p.protocol = IPPROTO_IPV6;
      isatap = true;
    } else if (p.name.startsWith('vti')) {
      p.protocol = IPPROTO_IPIP;
      p.iflags |= VTI_ISVTI;
    }
  }

  // Checked on the raw flags, as iproute2 does: VTI_ISVTI and SIT_ISATAP share bit 0.
  if ((p.iflags | p.oflags) & GRE_KEY && !(p.iflags & VTI_ISVTI) && p.protocol !== IPPROTO_GRE) {
    throw keysNotAllowed();
  }

  if (medium !== undefined) {
    p.link = linkIndex(ctx.links, medium);
    if (p.link === 0) throw cannotFindDevice(medium);
  }

  // A multicast remote is also the key, both ways, unless keys were given (every mode).
  if (isMulticast(p.remote)) {
    if (p.ikey === 0) {
      p.ikey = p.remote;
      p.iflags |= GRE_KEY;
    }
    if (p.okey === 0) {
      p.okey = p.remote;
      p.oflags |= GRE_KEY;
    }
    if (p.local === 0) throw broadcastNeedsSource();
  }
  if (isatap) p.iflags |= SIT_ISATAP;
  return p;
}

/** `do_add()` for add and change. */
async function addOrChange(cmd: 'add' | 'change', args: readonly string[], ctx: TunnelContext): Promise<string> {
  const p = await parseTunnelArgs(args, cmd, ctx);
  if (p.ttl !== 0 && !p.df) throw ttlWithNopmtudisc();
  const fallback = fallbackDevice(p);
  const mode = modeOfParm(p);
  if (fallback === undefined || mode === undefined) throw cannotDetermineMode();
  const params = paramsOfParm(p, mode);
  // add goes through the fallback device; change through the named tunnel (ip/tunnel.c tnl_add_ioctl).
  const device = cmd === 'change' && p.name !== '' ? p.name : fallback;
  try {
    const client = await ctx.client();
    if (cmd === 'add') await client.request({ op: 'tunnel.add', params });
    else await client.request({ op: 'tunnel.change', name: p.name, params });
  } catch (error) {
    if (error instanceof BurrowError) throw tunnelRefused('add', device, error);
    throw error;
  }
  return '';
}

/** `do_del()`: by name, else by parameters through the fallback device. */
async function del(args: readonly string[], ctx: TunnelContext): Promise<string> {
  const p = await parseTunnelArgs(args, 'del', ctx);
  const device = p.name || fallbackDevice(p) || '';
  // No name and no mode: iproute2 sends the ioctl to the empty device name; the kernel finds none.
  if (device === '') throw tunnelRefused('delete', '', new BurrowError('ENODEV'));
  // With a name the daemon deletes that tunnel and ignores the rest, so an unknown mode can be any.
  const params = paramsOfParm(p, modeOfParm(p) ?? 'ipip');
  try {
    const client = await ctx.client();
    await client.request({ op: 'tunnel.del', name: p.name, params });
  } catch (error) {
    if (error instanceof BurrowError) throw tunnelRefused('delete', device, error);
    throw error;
  }
  return '';
}

/** The fallback device of each mode's kernel driver: tunnels listed by `show mode M` share M's. */
const FALLBACK_OF_MODE: Record<TunnelMode, string> = {
  ipip: 'tunl0',
  vti: 'ip_vti0',
  gre: 'gre0',
  sit: 'sit0',
  isatap: 'sit0',
};

/** ip_tunnel_parm_match(): the list filters; a zero filter matches anything. */
function matchesFilter(filter: Parm, t: TunnelParams): boolean {
  return (
    (filter.link === 0 || filter.link === t.link) &&
    (filter.name === '' || filter.name === t.name) &&
    (filter.remote === 0 || filter.remote === t.remote >>> 0) &&
    (filter.local === 0 || filter.local === t.local >>> 0) &&
    (filter.ikey === 0 || filter.ikey === t.ikey >>> 0)
  );
}

/** `do_show()`: one query when both a mode and a name are known, else list mode (spec 1.6). */
async function show(args: readonly string[], ctx: TunnelContext): Promise<string> {
  const p = await parseTunnelArgs(args, 'show', ctx);
  const fallback = fallbackDevice(p);
  const printOptions = { ...ctx.options, links: ctx.links, dsfield: ctx.dsfield };
  if (fallback !== undefined && p.name !== '') {
    const tunnel = await getTunnel(ctx, p.name);
    return formatTunnels([tunnel], printOptions, false);
  }
  const client = await ctx.client();
  let tunnels: TunnelInfo[];
  try {
    tunnels = await client.request({ op: 'tunnel.list' });
  } catch (error) {
    if (error instanceof BurrowError) throw daemonUnreachable(error);
    throw error;
  }
  const shown = tunnels
    .filter((t) => matchesFilter(p, t.params) && (fallback === undefined || FALLBACK_OF_MODE[t.params.mode] === fallback))
    .sort((a, b) => a.ifindex - b.ifindex);
  return formatTunnels(shown, printOptions, true);
}

/** The sit-private ioctls (SIOCDEVPRIVATE + n) whose numbers iproute2 prints when they fail (spec 1.7). */
const SIOCADDPRL = 0x89f5;
const SIOCDELPRL = 0x89f6;
const SIOCADD6RD = 0x89f9;
const SIOCDEL6RD = 0x89fa;

/** Sends one prl or 6rd request; a refusal prints as tnl_gen_ioctl prints it. */
async function deviceIoctl(ctx: TunnelContext, device: string, command: number, request: SixRdRequest | PrlRequest): Promise<string> {
  // No operation given: iproute2 issues ioctl 0, which the kernel refuses before looking at the device.
  if (command === 0) throw ioctlRefused(device, 0, new BurrowError('ENOTTY'));
  try {
    const client = await ctx.client();
    await client.request(request);
  } catch (error) {
    if (error instanceof BurrowError) throw ioctlRefused(device, command, error);
    throw error;
  }
  return '';
}

/** `do_prl()`: one potential-router change on an ISATAP (or any sit) device. */
async function prl(args: readonly string[], ctx: TunnelContext): Promise<string> {
  const cur = new ArgCursor(args);
  let count = 0;
  let medium: string | undefined;
  let command = 0;
  let address = 0;
  let isDefault = false;
  while (!cur.done) {
    const word = cur.next()!;
    if (word === 'prl-default' || word === 'prl-nodefault' || word === 'prl-delete') {
      address = getAddr32(cur.expect());
      command = word === 'prl-delete' ? SIOCDELPRL : SIOCADDPRL;
      isDefault = word === 'prl-default';
      count++;
    } else if (word === 'dev') {
      const dev = cur.expect();
      if (!isValidIfname(dev)) throw invalidArgument('"dev" not a valid ifname', dev);
      medium = dev;
    } else {
      throw invalidPrlParameter(word);
    }
    if (count > 1) throw onePrlEntry();
  }
  if (medium === undefined) throw mustSpecifyDevice();
  const request: PrlRequest =
    command === SIOCDELPRL
      ? { op: 'tunnel.prl', name: medium, action: 'delete', address }
      : { op: 'tunnel.prl', name: medium, action: 'add', entry: { address, isDefault } };
  return deviceIoctl(ctx, medium, command, request);
}

/** `do_6rd()`: sets (one call, both prefixes; what is not given is zero) or resets a sit device's 6rd. */
async function sixRd(args: readonly string[], ctx: TunnelContext): Promise<string> {
  const cur = new ArgCursor(args);
  let medium: string | undefined;
  let command = 0;
  const prefix = new Uint8Array(16);
  let prefixLength = 0;
  let relayPrefix = 0;
  let relayPrefixLength = 0;
  while (!cur.done) {
    const word = cur.next()!;
    if (word === '6rd-prefix') {
      const p = getIpv6Prefix(cur.expect());
      prefix.set(p.address);
      prefixLength = p.length;
      command = SIOCADD6RD;
    } else if (word === '6rd-relay_prefix') {
      const p = getIpv4Prefix(cur.expect());
      relayPrefix = p.address;
      relayPrefixLength = p.length;
      command = SIOCADD6RD;
    } else if (word === '6rd-reset') {
      command = SIOCDEL6RD;
    } else if (word === 'dev') {
      const dev = cur.expect();
      if (!isValidIfname(dev)) throw invalidArgument('"dev" not a valid ifname', dev);
      medium = dev;
    } else {
      throw invalid6rdParameter(word);
    }
  }
  if (medium === undefined) throw mustSpecifyDevice();
  const request: SixRdRequest =
    command === SIOCDEL6RD
      ? { op: 'tunnel.6rd', name: medium, reset: true }
      : {
          op: 'tunnel.6rd',
          name: medium,
          reset: false,
          sixRd: { prefix: Array.from(prefix) as unknown as Uint8Array, prefixLength, relayPrefix, relayPrefixLength },
        };
  return deviceIoctl(ctx, medium, command, request);
}

/** `burrow tunnel ARGS...`: the text for stdout (empty for add, change and del), or a thrown UsageError. */
export async function runTunnelCommand(args: readonly string[], ctx: TunnelContext): Promise<string> {
  let family = ctx.options.family;
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === 'mode') {
      if (IPV6_MODES.has(args[i + 1]!)) family = AF_INET6;
      break;
    }
  }
  if (family === AF_INET6) throw ipv6TunnelsUnsupported();
  if (family !== AF_UNSPEC && family !== AF_INET) throw unsupportedFamily(family);

  if (args.length === 0) return show([], ctx);
  const [command, ...rest] = args as [string, ...string[]];
  if (matches(command, 'add')) return addOrChange('add', rest, ctx);
  if (matches(command, 'change')) return addOrChange('change', rest, ctx);
  if (matches(command, 'delete')) return del(rest, ctx);
  if (matches(command, 'show') || matches(command, 'lst') || matches(command, 'list')) return show(rest, ctx);
  if (matches(command, 'prl')) return prl(rest, ctx);
  if (matches(command, '6rd')) return sixRd(rest, ctx);
  if (matches(command, 'help')) throw usage(TUNNEL_USAGE);
  throw unknownCommand(command, 'tunnel');
}
