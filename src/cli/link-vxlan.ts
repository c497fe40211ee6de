/**
 * `burrow link {add|delete|show|help}` for vxlan devices: ip/iplink.c's grammar for the link and
 * ip/iplink_vxlan.c's for the vxlan arguments, with their checks, messages and exit statuses, then one
 * request to the daemon; `show` prints what `ip link show` prints (text and JSON, `-d`, `-s`, `-o`).
 *
 * The parser builds what iproute2 would send in its RTM_NEWLINK: the vxlan attributes (VxlanParams,
 * defaults applied by the daemon as the kernel applies them) and the generic ones (name, MTU, address,
 * queue length). Keywords are tried in iproute2 6.1's order, so prefixes resolve alike (`d` is `dev`,
 * not `dstport`; `h` is `hoplimit`, not `help`). The kernel's own checks that need nothing but the
 * request (tunnel/vxlan.ts validateVxlanParams) are made here too, so a bad request fails the same
 * whether or not the daemon runs; the rest is the daemon's.
 */
import type { TunnelClient } from '../control/client.js';
import type { DeviceFacts, LinkInfo } from '../control/protocol.js';
import { BurrowError } from '../errors.js';
import type { TunnelStats } from '../tunnel/stats.js';
import { defaultVxlanParams, validateVxlanParams, type VxlanParams } from '../tunnel/vxlan.js';
import { parseMac } from '../wire/ethernet.js';
import { ArgCursor, matches } from './argv.js';
import type { DsfieldTable } from './dsfield.js';
import { formatIpv4, getUnsigned, isMulticast, parseIpv4, parseIpv6, strtoul } from './inet.js';
import { JsonWriter } from './json.js';
import { linkIndex, linkName, type LinkTable } from './links.js';
import type { GlobalOptions } from './options.js';
import { dropsJson, statsJson } from './print.js';
import {
  EXIT_NETLINK,
  LINK_USAGE,
  PROGRAM,
  VXLAN_USAGE,
  UsageError,
  cannotFindDevice,
  daemonUnreachable,
  duplicateArgument,
  duplicateValue,
  failure,
  familyAddressExpected,
  fatal,
  invalidArgument,
  netlinkRefused,
  notImplemented,
  usage,
} from './usage-errors.js';

export interface LinkContext {
  options: GlobalOptions;
  /** The daemon; connects on the first call. Throws a UsageError ('daemon') when it cannot. */
  client(): Promise<TunnelClient>;
  links: LinkTable;
  dsfield: DsfieldTable;
  /** Where iproute2's warnings go (stderr) when the command goes on. */
  warn(text: string): void;
}

// ---- ip link add: the generic part (iplink_parse) ---------------------------------------------------

interface LinkRequest {
  name: string | undefined;
  dev: string | undefined;
  type: string | undefined;
  mtu?: number;
  address?: string;
  txqlen?: number;
  up: boolean;
  /** The words after `type TYPE`. */
  rest: string[];
}

/** lib/utils.c `get_integer()`: a C int in base 0. */
function getInteger(text: string): number | undefined {
  if (text.length === 0) return undefined;
  const negative = text.trimStart().startsWith('-');
  const r = strtoul(negative ? text.replace('-', '') : text, 0);
  if (r.end !== (negative ? text.length - 1 : text.length) || r.end === 0 || r.overflow) return undefined;
  const value = negative ? -Number(r.value) : Number(r.value);
  return value >= -0x8000_0000 && value <= 0x7fff_ffff ? value : undefined;
}

/** `check_ifname()`: 1..15 bytes, no '/' and no blanks. */
function validIfname(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) < 16 && !/[/\s]/.test(name);
}

/** The generic keywords of `ip link add` burrow takes; the others are refused after their value. */
const UNSUPPORTED_LINK_WORDS = new Set([
  'index', 'broadcast', 'brd', 'netns', 'multicast', 'allmulticast', 'promisc', 'trailers', 'arp', 'carrier',
  'vf', 'master', 'vrf', 'nomaster', 'dynamic', 'alias', 'group', 'mode', 'state', 'numtxqueues',
  'numrxqueues', 'addrgenmode', 'link-netns', 'link-netnsid', 'protodown', 'protodown_reason',
  'gso_max_size', 'gso_max_segs', 'xdp', 'xdpgeneric', 'xdpdrv', 'xdpoffload', 'down', 'link',
]);

function parseLinkWords(args: readonly string[], create: boolean): LinkRequest {
  const req: LinkRequest = { name: undefined, dev: undefined, type: undefined, up: false, rest: [] };
  const cur = new ArgCursor(args);
  while (!cur.done) {
    const word = cur.next()!;
    if (word === 'up') {
      req.up = true;
    } else if (word === 'name') {
      const name = cur.expect();
      if (req.name !== undefined) throw duplicateValue('name', name);
      if (!validIfname(name)) throw invalidArgument('"name" not a valid ifname', name);
      req.name = name;
      req.dev ??= name;
    } else if (matches(word, 'link') && word !== 'l') {
      cur.expect();
      throw notImplemented('link add ... link DEV is not supported (vxlan takes its underlay from `dev` after `type vxlan`)');
    } else if (matches(word, 'address')) {
      const text = cur.expect();
      if (parseLladdr(text) === null) throw failure(`"${text}" is invalid lladdr.`);
      req.address = text;
    } else if (matches(word, 'txqueuelen') || word === 'qlen' || matches(word, 'txqlen')) {
      const text = cur.expect();
      if (req.txqlen !== undefined) throw duplicateValue('txqueuelen', text);
      const value = getInteger(text);
      if (value === undefined) throw invalidArgument('Invalid "txqueuelen" value\n', text);
      req.txqlen = value;
    } else if (word === 'mtu') {
      const text = cur.expect();
      if (req.mtu !== undefined) throw duplicateValue('mtu', text);
      const value = getInteger(text);
      if (value === undefined) throw invalidArgument('Invalid "mtu" value\n', text);
      req.mtu = value;
    } else if (matches(word, 'type')) {
      req.type = cur.expect();
      req.rest = cur.rest();
      break;
    } else if (UNSUPPORTED_LINK_WORDS.has(word)) {
      throw notImplemented(`link ${create ? 'add' : 'delete'} ... ${word} is not supported; set it on the device with ip link set`);
    } else {
      if (matches(word, 'help')) throw usage(LINK_USAGE);
      const dev = word === 'dev' ? cur.expect() : word;
      if (req.dev !== req.name) throw duplicateArgument('dev', dev);
      if (Buffer.byteLength(dev) > 127 || dev.length === 0 || /[/\s]/.test(dev)) throw invalidArgument('"dev" not a valid ifname', dev);
      req.dev = dev;
    }
  }
  if (req.name === undefined) req.name = req.dev;
  else if (req.dev === undefined) req.dev = req.name;
  return req;
}

/** lib/ll_addr.c `ll_addr_a2n()` for Ethernet: six hex groups joined by ':' (or '.'). */
function parseLladdr(text: string): Uint8Array | null {
  return parseMac(text.replace(/\./g, ':'));
}

// ---- type vxlan (vxlan_parse_opt) -------------------------------------------------------------------

/** What vxlan_parse_opt accepts beyond VxlanParams, for the checks after it and for refusals. */
interface VxlanExtras {
  ipv6: boolean;
  flowlabel: number;
  metadata: boolean;
  vnifilter: boolean;
  unsupported: string[];
}

/** The attribute each keyword sets, for check_duparg (one bit per IFLA_VXLAN_*). */
type Attr =
  | 'id' | 'group' | 'local' | 'link' | 'ttl' | 'tos' | 'df' | 'label' | 'ageing' | 'limit' | 'portRange' | 'port'
  | 'learning' | 'proxy' | 'rsc' | 'l2miss' | 'l3miss' | 'udpCsum' | 'zeroCsum6Tx' | 'zeroCsum6Rx' | 'remcsumTx'
  | 'remcsumRx' | 'metadata' | 'gbp' | 'gpe' | 'vnifilter';

/** An address as get_addr() reads it, with set_address_type()'s verdict. */
interface Inet {
  family: 4 | 6 | 0;
  v4: number;
  unspecified: boolean;
  multicast: boolean;
}

/** `get_addr(addr, text, family)`: IPv4 (legacy forms too), IPv6, or any/all/default (no family). */
function getAddr(text: string, family: 4 | 6 | 0): Inet {
  if (text === 'any' || text === 'all' || text === 'default') return { family: 0, v4: 0, unspecified: true, multicast: false };
  if (text.includes(':')) {
    const v6 = family === 4 ? undefined : parseIpv6(text);
    if (v6 === undefined) throw familyAddressExpected(family === 4 ? 'inet' : family === 6 ? 'inet6' : 'any valid', text);
    return { family: 6, v4: 0, unspecified: v6.every((b) => b === 0), multicast: v6[0] === 0xff };
  }
  const v4 = family === 6 ? undefined : parseIpv4(text);
  if (v4 === undefined) throw familyAddressExpected(family === 4 ? 'inet' : family === 6 ? 'inet6' : 'any valid', text);
  return { family: 4, v4, unspecified: v4 === 0, multicast: isMulticast(v4) };
}

/** The keywords in the order vxlan_parse_opt tries them (iproute2 6.1): first prefix match wins. */
const PREFIX_ORDER: ReadonlyArray<readonly [string, string]> = [
  ['id', 'id'], ['vni', 'id'], ['group', 'group'], ['remote', 'remote'], ['local', 'local'], ['dev', 'dev'],
  ['ttl', 'ttl'], ['hoplimit', 'ttl'], ['tos', 'tos'], ['dsfield', 'tos'], ['df', 'df'], ['label', 'label'],
  ['flowlabel', 'label'], ['ageing', 'ageing'], ['maxaddress', 'maxaddress'], ['port', 'srcport'],
  ['srcport', 'srcport'], ['dstport', 'dstport'], ['nolearning', 'nolearning'], ['learning', 'learning'],
  ['noproxy', 'noproxy'], ['proxy', 'proxy'], ['norsc', 'norsc'], ['rsc', 'rsc'], ['nol2miss', 'nol2miss'],
  ['l2miss', 'l2miss'], ['nol3miss', 'nol3miss'], ['l3miss', 'l3miss'], ['udpcsum', 'udpcsum'],
  ['noudpcsum', 'noudpcsum'], ['udp6zerocsumtx', 'udp6zerocsumtx'], ['noudp6zerocsumtx', 'noudp6zerocsumtx'],
  ['udp6zerocsumrx', 'udp6zerocsumrx'], ['noudp6zerocsumrx', 'noudp6zerocsumrx'], ['remcsumtx', 'remcsumtx'],
  ['noremcsumtx', 'noremcsumtx'], ['remcsumrx', 'remcsumrx'], ['noremcsumrx', 'noremcsumrx'],
  ['external', 'external'], ['noexternal', 'noexternal'], ['gbp', 'gbp'], ['gpe', 'gpe'],
];

function keywordOf(word: string): string | undefined {
  // vnifilter and novnifilter are whole words in 6.1; the rest go by prefix, in order.
  if (word === 'vnifilter' || word === 'novnifilter') return word;
  for (const [keyword, meaning] of PREFIX_ORDER) if (matches(word, keyword)) return meaning;
  if (matches(word, 'help')) return 'help';
  return undefined;
}

/** get_u16/get_be16/get_u32 over strtoul base 0: the value, or undefined when it is not one. */
function getUnsignedMax(text: string, max: number): number | undefined {
  const v = getUnsigned(text, 0);
  return v !== undefined && v <= max ? v : undefined;
}

export function parseVxlanArgs(
  args: readonly string[],
  dsfield: DsfieldTable,
  links: LinkTable,
  warn: (text: string) => void,
): { params: VxlanParams; extras: VxlanExtras } {
  const p = defaultVxlanParams();
  p.dstPort = 0;
  p.ageing = 0;
  const x: VxlanExtras = { ipv6: false, flowlabel: 0, metadata: false, vnifilter: false, unsupported: [] };
  const seen = new Set<Attr>();
  const once = (attr: Attr, key: string, value: string) => {
    if (seen.has(attr)) throw duplicateArgument(key, value);
    seen.add(attr);
  };
  let saddr: Inet = { family: 0, v4: 0, unspecified: false, multicast: false };
  let saddrSet = false;
  let daddr: Inet = { family: 0, v4: 0, unspecified: false, multicast: false };
  let daddrSet = false;
  const inetNotMulti = (a: Inet) => a.family === 4 ? !a.multicast : a.family === 6 && !a.multicast && !a.unspecified;
  const inetMulti = (a: Inet) => a.family !== 0 && a.multicast;
  const cur = new ArgCursor(args);
  while (!cur.done) {
    const word = cur.next()!;
    const keyword = keywordOf(word);
    switch (keyword) {
      case 'id': {
        const text = cur.expect();
        once('id', 'id', text);
        const vni = getUnsigned(text, 0);
        if (vni === undefined || vni >= 1 << 24) throw invalidArgument('invalid id', text);
        p.vni = vni;
        break;
      }
      case 'group':
      case 'remote': {
        const isGroup = keyword === 'group';
        if (daddrSet && (isGroup ? inetNotMulti(daddr) : inetMulti(daddr))) {
          throw failure('vxlan: both group and remote cannot be specified');
        }
        const text = cur.expect();
        once('group', keyword, text);
        daddr = getAddr(text, saddr.family);
        daddrSet = true;
        if (isGroup ? !inetMulti(daddr) : !inetNotMulti(daddr)) {
          throw invalidArgument(isGroup ? 'invalid group address' : 'invalid remote address', text);
        }
        break;
      }
      case 'local': {
        const text = cur.expect();
        once('local', 'local', text);
        saddr = getAddr(text, daddr.family);
        saddrSet = true;
        if (!inetNotMulti(saddr)) throw invalidArgument('invalid local address', text);
        break;
      }
      case 'dev': {
        const text = cur.expect();
        once('link', 'dev', text);
        const index = linkIndex(links, text);
        if (index === 0) throw fatal(`Cannot find device "${text}"`);
        p.link = index;
        break;
      }
      case 'ttl': {
        const text = cur.expect();
        once('ttl', 'ttl', text);
        if (text === 'inherit') p.ttlInherit = true;
        else if (text !== 'auto') {
          const ttl = getUnsigned(text, 0);
          if (ttl === undefined) throw invalidArgument('invalid TTL', text);
          if (ttl > 255) throw invalidArgument('TTL must be <= 255', text);
          p.ttl = ttl;
        }
        break;
      }
      case 'tos': {
        const text = cur.expect();
        once('tos', 'tos', text);
        if (text === 'inherit') p.tos = 1;
        else {
          const tos = dsfield.parse(text);
          if (tos === undefined) throw invalidArgument('bad TOS value', text);
          p.tos = tos & 0xff;
        }
        break;
      }
      case 'df': {
        const text = cur.expect();
        once('df', 'df', text);
        if (text !== 'unset' && text !== 'set' && text !== 'inherit') {
          throw invalidArgument("DF must be 'unset', 'set' or 'inherit'", text);
        }
        p.df = text;
        break;
      }
      case 'label': {
        const text = cur.expect();
        once('label', 'flowlabel', text);
        const label = getUnsigned(text, 0);
        if (label === undefined || label > 0xfffff) throw invalidArgument('invalid flowlabel', text);
        x.flowlabel = label;
        break;
      }
      case 'ageing': {
        const text = cur.expect();
        once('ageing', 'ageing', text);
        if (text === 'none') p.ageing = 0;
        else {
          const age = getUnsigned(text, 0);
          if (age === undefined) throw invalidArgument('ageing timer', text);
          p.ageing = age;
        }
        break;
      }
      case 'maxaddress': {
        const text = cur.expect();
        once('limit', 'maxaddress', text);
        if (text === 'unlimited') p.maxAddresses = 0;
        else {
          const max = getUnsigned(text, 0);
          if (max === undefined) throw invalidArgument('max addresses', text);
          p.maxAddresses = max;
        }
        break;
      }
      case 'srcport': {
        const low = cur.expect();
        once('portRange', 'srcport', low);
        const min = getUnsignedMax(low, 0xffff);
        if (min === undefined) throw invalidArgument('min port', low);
        const high = cur.expect();
        const max = getUnsignedMax(high, 0xffff);
        if (max === undefined) throw invalidArgument('max port', high);
        p.srcPortMin = min;
        p.srcPortMax = max;
        break;
      }
      case 'dstport': {
        const text = cur.expect();
        once('port', 'dstport', text);
        const port = getUnsignedMax(text, 0xffff);
        if (port === undefined) throw invalidArgument('dst port', text);
        p.dstPort = port;
        break;
      }
      case 'nolearning':
      case 'learning':
        once('learning', word, word);
        p.learning = keyword === 'learning';
        break;
      case 'noproxy':
      case 'proxy':
        once('proxy', word, word);
        p.proxy = keyword === 'proxy';
        break;
      case 'norsc':
      case 'rsc':
        once('rsc', word, word);
        p.rsc = keyword === 'rsc';
        break;
      case 'nol2miss':
      case 'l2miss':
        once('l2miss', word, word);
        p.l2miss = keyword === 'l2miss';
        break;
      case 'nol3miss':
      case 'l3miss':
        once('l3miss', word, word);
        p.l3miss = keyword === 'l3miss';
        break;
      case 'udpcsum':
      case 'noudpcsum':
        once('udpCsum', word, word);
        p.udpCsum = keyword === 'udpcsum';
        break;
      case 'udp6zerocsumtx':
      case 'noudp6zerocsumtx':
        once('zeroCsum6Tx', word, word);
        p.udp6ZeroCsumTx = keyword === 'udp6zerocsumtx';
        break;
      case 'udp6zerocsumrx':
      case 'noudp6zerocsumrx':
        once('zeroCsum6Rx', word, word);
        p.udp6ZeroCsumRx = keyword === 'udp6zerocsumrx';
        break;
      case 'remcsumtx':
      case 'noremcsumtx':
        once('remcsumTx', word, word);
        if (keyword === 'remcsumtx') x.unsupported.push('remcsumtx');
        break;
      case 'remcsumrx':
      case 'noremcsumrx':
        once('remcsumRx', word, word);
        if (keyword === 'remcsumrx') x.unsupported.push('remcsumrx');
        break;
      case 'external':
      case 'noexternal':
        once('metadata', word, word);
        x.metadata = keyword === 'external';
        if (x.metadata) p.learning = false;
        break;
      case 'vnifilter':
      case 'novnifilter':
        once('vnifilter', word, word);
        x.vnifilter = keyword === 'vnifilter';
        break;
      case 'gbp':
      case 'gpe':
        once(keyword, word, word);
        x.unsupported.push(keyword);
        break;
      case 'help':
        throw failure(VXLAN_USAGE);
      default:
        throw failure(`vxlan: unknown command "${word}"?\n${VXLAN_USAGE}`);
    }
  }
  if (!x.metadata && x.vnifilter) throw failure("vxlan: vnifilter is valid only when 'external' is set");
  if (x.metadata && seen.has('id')) throw failure("vxlan: both 'external' and vni cannot be specified");
  if (!x.metadata && !x.vnifilter && !seen.has('id')) throw failure('vxlan: missing virtual network identifier');
  if (daddrSet && inetMulti(daddr) && !seen.has('link')) throw failure("vxlan: 'group' requires 'dev' to be specified");
  if (!seen.has('port') && seen.has('gpe')) p.dstPort = 4790;
  else if (!seen.has('port')) {
    warn(
      'vxlan: destination port not specified\nWill use Linux kernel default (non-standard value)\n' +
        "Use 'dstport 4789' to get the IANA assigned value\nUse 'dstport 0' to get default and quiet this message\n",
    );
  }
  if (saddrSet && saddr.family !== 0) p.local = saddr.v4;
  if (daddrSet && daddr.family !== 0) p.remote = daddr.v4;
  x.ipv6 = saddr.family === 6 || daddr.family === 6;
  if (x.metadata) x.unsupported.push('external');
  return { params: p, extras: x };
}

// ---- requests ------------------------------------------------------------------------------------

async function request<T>(ctx: LinkContext, send: (client: TunnelClient) => Promise<T>): Promise<T> {
  const client = await ctx.client();
  try {
    return await send(client);
  } catch (error) {
    if (error instanceof BurrowError) throw netlinkRefused(error, EXIT_NETLINK);
    throw error;
  }
}

async function add(args: readonly string[], ctx: LinkContext): Promise<string> {
  const req = parseLinkWords(args, true);
  if (req.type === undefined) throw failure('Not enough information: "type" argument is required');
  if (req.name !== req.dev) throw fatal('both "name" and "dev" cannot be used when creating devices.');
  if (req.type !== 'vxlan') throw notImplemented(`link type ${req.type} is not supported: burrow makes vxlan links only`);
  // No vxlan arguments at all: iproute2 sends no IFLA_INFO_DATA, which vxlan_validate refuses.
  if (req.rest.length === 0) throw new UsageError('kernel', 'Error: Required attributes not provided to perform the operation.', EXIT_NETLINK);
  const { params, extras } = parseVxlanArgs(req.rest, ctx.dsfield, ctx.links, ctx.warn);
  params.name = req.name ?? '';
  // IFLA_IFNAME fails the kernel's policy beyond 15 bytes.
  if (Buffer.byteLength(params.name) > 15) throw new UsageError('kernel', 'Error: Attribute failed policy validation.', EXIT_NETLINK);
  if (extras.flowlabel !== 0 && !extras.ipv6) {
    throw new UsageError('kernel', 'Error: Label attribute only applies to IPv6 VXLAN devices.', EXIT_NETLINK);
  }
  const invalid = validateVxlanParams(params);
  if (invalid) throw netlinkRefused(invalid, EXIT_NETLINK);
  if (extras.ipv6) throw notImplemented('IPv6 vxlan (an IPv6 remote, group or local) is not implemented yet; burrow vxlan is IPv4');
  if (extras.unsupported.length > 0) throw notImplemented(`vxlan ${extras.unsupported.join(', ')} is not implemented`);
  if (req.mtu !== undefined && (req.mtu < 68 || req.mtu > 65535)) {
    throw new UsageError('kernel', 'Error: MTU must be between 68 and 65535.', EXIT_NETLINK);
  }
  const options = {
    ...(req.mtu !== undefined ? { mtu: req.mtu } : {}),
    ...(req.address !== undefined ? { address: req.address } : {}),
    ...(req.txqlen !== undefined ? { txqlen: req.txqlen } : {}),
    ...(req.up ? { up: true } : {}),
  };
  await request(ctx, (c) => c.request({ op: 'link.add', params, options }));
  return '';
}

async function del(args: readonly string[], ctx: LinkContext): Promise<string> {
  const req = parseLinkWords(args, false);
  if (req.dev === undefined) throw fatal('Not enough information: "dev" argument is required.');
  if (linkIndex(ctx.links, req.dev) === 0) throw cannotFindDevice(req.dev);
  if (req.type !== undefined && req.type !== 'vxlan' && req.rest.length > 0) {
    throw fatal(`Garbage instead of arguments "${req.rest[0]} ...". Try "ip link help".`.replace('"ip link', `"${PROGRAM} link`));
  }
  await request(ctx, (c) => c.request({ op: 'link.del', name: req.dev! }));
  return '';
}

async function show(args: readonly string[], ctx: LinkContext): Promise<string> {
  let dev: string | undefined;
  let type: string | undefined;
  let upOnly = false;
  const cur = new ArgCursor(args);
  while (!cur.done) {
    const word = cur.next()!;
    if (word === 'up') upOnly = true;
    else if (word === 'type') type = cur.expect();
    else if (['to', 'scope', 'label', 'master', 'vrf', 'nomaster', 'group', 'proto', 'permanent', 'dynamic'].includes(word)) {
      throw notImplemented(`link show ... ${word} is not supported: burrow lists its vxlan devices`);
    } else {
      const name = word === 'dev' ? cur.expect() : word;
      if (word !== 'dev' && matches(word, 'help')) throw usage(LINK_USAGE);
      if (dev !== undefined) throw duplicateArgument('dev', name);
      dev = name;
    }
  }
  if (dev !== undefined && linkIndex(ctx.links, dev) === 0) throw failure(`Device "${dev}" does not exist.`);
  const client = await ctx.client();
  let shown: LinkInfo[];
  try {
    shown = await client.request({ op: 'link.list' });
  } catch (error) {
    if (error instanceof BurrowError) throw daemonUnreachable(error);
    throw error;
  }
  if (dev !== undefined) {
    shown = shown.filter((l) => l.params.name === dev);
    if (shown.length === 0) throw failure(`${PROGRAM}: ${dev} is not a burrow vxlan device; ip link show ${dev} shows it`);
  }
  if (type !== undefined && type !== 'vxlan') shown = [];
  if (upOnly) shown = shown.filter((l) => (l.device.flags & IFF_UP) !== 0);
  return formatLinks(shown, { ...ctx.options, links: ctx.links, dsfield: ctx.dsfield });
}

/** `burrow link ARGS...`: stdout text, or a thrown UsageError. */
export async function runLinkCommand(args: readonly string[], ctx: LinkContext): Promise<string> {
  if (args.length === 0) return show([], ctx);
  const [command, ...rest] = args as [string, ...string[]];
  if (matches(command, 'add')) return add(rest, ctx);
  if (matches(command, 'set') || matches(command, 'change') || matches(command, 'replace')) {
    throw notImplemented(`link ${command} is not supported: use ip link set on the device (up, down, mtu, address)`);
  }
  if (matches(command, 'delete')) return del(rest, ctx);
  if (matches(command, 'show') || matches(command, 'lst') || matches(command, 'list')) return show(rest, ctx);
  if (matches(command, 'xstats') || matches(command, 'afstats') || matches(command, 'property')) {
    throw notImplemented(`link ${command} is not supported`);
  }
  if (matches(command, 'help')) {
    if (rest[0] === 'vxlan') throw failure(VXLAN_USAGE);
    throw usage(LINK_USAGE);
  }
  throw new UsageError('unknown', `Command "${command}" is unknown, try "${PROGRAM} link help".`, 255);
}

// ---- ip link show output (print_linkinfo) ---------------------------------------------------------

const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const IFF_LOWER_UP = 0x10000;
/** print_link_flags' order. */
const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x8, 'LOOPBACK'], [0x2, 'BROADCAST'], [0x10, 'POINTOPOINT'], [0x1000, 'MULTICAST'], [0x80, 'NOARP'],
  [0x200, 'ALLMULTI'], [0x100, 'PROMISC'], [0x20, 'NOTRAILERS'], [0x4, 'DEBUG'], [0x8000, 'DYNAMIC'],
  [0x4000, 'AUTOMEDIA'], [0x2000, 'PORTSEL'], [0x800, 'SLAVE'], [0x400, 'MASTER'], [IFF_UP, 'UP'],
  [IFF_LOWER_UP, 'LOWER_UP'], [0x20000, 'DORMANT'], [0x40000, 'ECHO'],
];

export function linkFlags(raw: number): string[] {
  const out: string[] = [];
  let flags = raw >>> 0;
  if (flags & IFF_UP && !(flags & IFF_RUNNING)) out.push('NO-CARRIER');
  flags &= ~IFF_RUNNING;
  for (const [bit, name] of FLAG_NAMES) {
    if (flags & bit) {
      flags &= ~bit;
      out.push(name);
    }
  }
  if (flags) out.push((flags >>> 0).toString(16));
  return out;
}

export interface LinkPrintOptions {
  json: boolean;
  pretty: boolean;
  oneline: boolean;
  stats: number;
  details: number;
  links: LinkTable;
  dsfield: DsfieldTable;
}

/** Text and JSON through one path, as iproute2's print_* family (see print.ts). */
class Out {
  text = '';
  constructor(readonly json: JsonWriter | undefined) {}
  /** Text with `format`'s %s replaced; JSON `key: value` (value a string or number). */
  field(key: string | null, format: string | null, value: string | number, asText?: string): void {
    if (this.json === undefined) {
      if (format !== null) this.text += format.replace('%s', asText ?? String(value));
    } else if (key !== null) {
      const w = this.json.name(key);
      if (typeof value === 'number') w.number(value);
      else w.string(value);
    }
  }
  bool(key: string | null, format: string | null, value: boolean): void {
    if (this.json === undefined) {
      if (format !== null) this.text += format;
    } else if (key !== null) {
      this.json.name(key).bool(value);
    }
  }
  raw(text: string): void {
    if (this.json === undefined) this.text += text;
  }
}

const DF_NAMES = { unset: 'unset', set: 'set', inherit: 'inherit' } as const;

/** vxlan_print_opt: the kind-specific part of `ip -d link show`. */
function printVxlan(out: Out, p: VxlanParams, links: LinkTable): void {
  const json = out.json !== undefined;
  out.field('id', 'id %s ', p.vni);
  if (p.remote !== 0) out.field(isMulticast(p.remote) ? 'group' : 'remote', isMulticast(p.remote) ? 'group %s ' : 'remote %s ', formatIpv4(p.remote));
  if (p.local !== 0) out.field('local', 'local %s ', formatIpv4(p.local));
  if (p.link !== 0) out.field('link', 'dev %s ', linkName(links, p.link));
  if (json) {
    out.json!.name('port_range').startObject();
    out.json!.name('low').number(p.srcPortMin);
    out.json!.name('high').number(p.srcPortMax);
    out.json!.endObject();
  } else {
    out.raw(`srcport ${p.srcPortMin} ${p.srcPortMax} `);
  }
  out.field('port', 'dstport %s ', p.dstPort);
  if (json) out.bool('learning', null, p.learning);
  else if (!p.learning) out.raw('nolearning ');
  if (p.proxy) out.bool('proxy', 'proxy ', true);
  if (p.rsc) out.bool('rsc', 'rsc ', true);
  if (p.l2miss) out.bool('l2miss', 'l2miss ', true);
  if (p.l3miss) out.bool('l3miss', 'l3miss ', true);
  if (p.tos !== 0) {
    if (json || p.tos !== 1) out.field('tos', 'tos %s ', `0x${p.tos.toString(16)}`);
    else out.raw('tos inherit ');
  }
  if (p.ttlInherit) out.raw('ttl inherit ');
  else if (json || p.ttl !== 0) out.field('ttl', 'ttl %s ', p.ttl);
  else out.raw('ttl auto ');
  if (p.df === 'unset') {
    if (json) out.field('df', null, DF_NAMES.unset);
  } else {
    out.field('df', 'df %s ', DF_NAMES[p.df]);
  }
  out.field('ageing', p.ageing === 0 ? 'ageing none ' : 'ageing %s ', p.ageing);
  if (p.maxAddresses !== 0) out.field('limit', 'maxaddr %s ', p.maxAddresses);
  if (json) {
    out.bool('udp_csum', null, p.udpCsum);
    out.bool('udp_zero_csum6_tx', null, p.udp6ZeroCsumTx);
    out.bool('udp_zero_csum6_rx', null, p.udp6ZeroCsumRx);
  } else {
    out.raw(`${p.udpCsum ? '' : 'no'}udpcsum `);
    out.raw(`${p.udp6ZeroCsumTx ? '' : 'no'}udp6zerocsumtx `);
    out.raw(`${p.udp6ZeroCsumRx ? '' : 'no'}udp6zerocsumrx `);
  }
}

/** size_columns: a column is as wide as its widest value (iproute2 counts 10^k as k digits, not k+1). */
function widen(cols: number[], values: readonly number[]): void {
  values.forEach((v, i) => {
    let len = 1;
    for (let p = 10; p < v; p *= 10) len++;
    if (len > cols[i]) cols[i] = len;
  });
}

function num(width: number, value: number): string {
  return `${String(value).padStart(width)} `;
}

/** print_stats64 in text: two or (`-s -s`) four lines. */
function statsText(s: TunnelStats, level: number, carrierChanges: number, nl: string): string {
  const cols = [10, 7, 6, 7, 7, 7, 10];
  widen(cols, [s.rxBytes, s.rxPackets, s.rxErrors, s.rxDropped, 0, s.multicast, 0]);
  if (level > 1) widen(cols, [0, s.rxLengthErrors, s.rxCrcErrors, s.rxFrameErrors, s.rxFifoErrors, 0, 0]);
  widen(cols, [s.txBytes, s.txPackets, s.txErrors, s.txDropped, s.txCarrierErrors, s.collisions, 0]);
  if (level > 1) widen(cols, [0, 0, s.txAbortedErrors, s.txFifoErrors, 0, 0, carrierChanges]);
  const head = (labels: string[]) => labels.map((l, i) => l.padStart(i === 0 ? cols[0] - 4 : cols[i])).join(' ');
  let t = `    RX: ${head(['bytes', 'packets', 'errors', 'dropped', 'missed', 'mcast', ''])}${nl}`;
  t += `    ${[s.rxBytes, s.rxPackets, s.rxErrors, s.rxDropped, 0, s.multicast].map((v, i) => num(cols[i], v)).join('')}${nl}`;
  if (level > 1) {
    t += `    RX errors:${''.padStart(cols[0] - 10)} ${['length', 'crc', 'frame', 'fifo', 'overrun', ''].map((l, i) => l.padStart(cols[i + 1])).join(' ')}${nl}`;
    t += `${''.padStart(cols[0] + 5)}${[s.rxLengthErrors, s.rxCrcErrors, s.rxFrameErrors, s.rxFifoErrors, 0].map((v, i) => num(cols[i + 1], v)).join('')}${nl}`;
  }
  t += `    TX: ${head(['bytes', 'packets', 'errors', 'dropped', 'carrier', 'collsns', ''])}${nl}`;
  t += `    ${[s.txBytes, s.txPackets, s.txErrors, s.txDropped, s.txCarrierErrors, s.collisions].map((v, i) => num(cols[i], v)).join('')}`;
  if (level > 1) {
    t += `${nl}    TX errors:${''.padStart(cols[0] - 10)} ${['aborted', 'fifo', 'window', 'heartbt', 'transns'].map((l, i) => l.padStart(cols[i + 1])).join(' ')}${nl}`;
    t += `${''.padStart(cols[0] + 5)}${[s.txAbortedErrors, s.txFifoErrors, 0, 0, carrierChanges].map((v, i) => num(cols[i + 1], v)).join('')}`;
  }
  return t;
}

function operState(d: DeviceFacts): string {
  return d.operstate;
}

/** One device as print_linkinfo prints it. */
function printLink(out: Out, info: LinkInfo, o: LinkPrintOptions, nl: string): void {
  const d = info.device;
  const json = out.json;
  json?.startObject();
  out.field('ifindex', '%s: ', info.ifindex);
  out.field('ifname', '%s: ', info.params.name);
  if (json) {
    json.name('flags').startArray();
    for (const f of linkFlags(d.flags)) json.string(f);
    json.endArray();
  } else {
    out.raw(`<${linkFlags(d.flags).join(',')}> `);
  }
  out.field('mtu', 'mtu %s ', d.mtu);
  out.field('qdisc', 'qdisc %s ', d.qdisc);
  out.field('operstate', 'state %s ', operState(d));
  out.field('linkmode', 'mode %s ', d.linkmode === 1 ? 'DORMANT' : 'DEFAULT');
  out.field('group', 'group %s ', d.group === 0 ? 'default' : String(d.group));
  out.field('txqlen', 'qlen %s', d.txqlen);
  out.raw(nl);
  out.field('link_type', '    link/%s ', 'ether');
  out.field('address', '%s', d.address);
  out.field('broadcast', ' brd %s', d.broadcast);
  if (o.details > 0) {
    out.field('promiscuity', ' promiscuity %s ', d.promiscuity);
    out.field('allmulti', ' allmulti %s ', d.allmulti);
    out.field('min_mtu', 'minmtu %s ', d.minMtu);
    out.field('max_mtu', 'maxmtu %s ', d.maxMtu);
    if (json) {
      json.name('linkinfo').startObject();
      json.name('info_kind').string('vxlan');
      json.name('info_data').startObject();
      printVxlan(out, info.params, o.links);
      json.endObject();
      json.endObject();
    } else {
      out.raw(`${nl}    vxlan `);
      printVxlan(out, info.params, o.links);
    }
    if (d.addrGenMode !== null) out.field('inet6_addr_gen_mode', 'addrgenmode %s ', d.addrGenMode);
    out.field('num_tx_queues', 'numtxqueues %s ', d.numTxQueues);
    out.field('num_rx_queues', 'numrxqueues %s ', d.numRxQueues);
    out.field('gso_max_size', 'gso_max_size %s ', d.gsoMaxSize);
    out.field('gso_max_segs', 'gso_max_segs %s ', d.gsoMaxSegs);
    out.field('tso_max_size', 'tso_max_size %s ', d.tsoMaxSize);
    out.field('tso_max_segs', 'tso_max_segs %s ', d.tsoMaxSegs);
    out.field('gro_max_size', 'gro_max_size %s ', d.groMaxSize);
  }
  if (o.stats > 0) {
    if (json) statsJson(json, info.stats, o.stats);
    else out.raw(nl + statsText(info.stats, o.stats, d.carrierChanges, nl));
    if (o.stats > 1) dropsOf(out, info.drops, nl);
  }
  json?.endObject();
}

/** burrow's addition with `-s -s`: the device's drops by reason (docs/drop-reasons.md). */
function dropsOf(out: Out, drops: Record<string, number>, nl: string): void {
  const reasons = Object.keys(drops).sort();
  if (out.json) {
    dropsJson(out.json, drops);
  } else if (reasons.length > 0) {
    out.raw(`${nl}    Drops: ${reasons.map((r) => `${r} ${drops[r]}`).join(', ')}`);
  }
}

/** `ip link show` for these devices, in order. */
export function formatLinks(infos: readonly LinkInfo[], o: Omit<LinkPrintOptions, 'details'> & { details?: number }): string {
  const options: LinkPrintOptions = { ...o, details: o.details ?? 0 };
  const nl = options.oneline ? '\\' : '\n';
  if (options.json) {
    const json = new JsonWriter(options.pretty);
    json.startArray();
    for (const info of infos) printLink(new Out(json), info, options, nl);
    json.endArray();
    return json.finish();
  }
  let text = '';
  for (const info of infos) {
    const out = new Out(undefined);
    printLink(out, info, options, nl);
    text += out.text + '\n';
  }
  return text;
}
