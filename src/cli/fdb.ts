/**
 * `burrow fdb {add|append|replace|del|show|help}`: bridge/fdb.c's grammar, checks, messages and exit
 * statuses (iproute2 6.1's `bridge fdb`) for the forwarding databases of burrow's vxlan devices, then
 * one request to the daemon; `show` prints the lines `bridge fdb show` prints, text and JSON.
 *
 * The parser builds what `bridge` would send: an RTM_NEWNEIGH or RTM_DELNEIGH with ndm_state,
 * ndm_flags and NDA_* attributes (tunnel/fdb.ts FdbRequest); the daemon applies the kernel's rules
 * (vxlan_fdb_add, vxlan_fdb_delete). Like `bridge`, most failures exit 255.
 */
import type { TunnelClient } from '../control/client.js';
import type { FdbCommand, FdbEntryInfo } from '../control/protocol.js';
import { BurrowError } from '../errors.js';
import {
  NTF_EXT_LEARNED,
  NTF_MASTER,
  NTF_OFFLOADED,
  NTF_ROUTER,
  NTF_SELF,
  NTF_STICKY,
  NTF_USE,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_REACHABLE,
  NUD_STALE,
  macKey,
  type FdbRequest,
} from '../tunnel/fdb.js';
import { ArgCursor, matches } from './argv.js';
import { formatIpv4, getUnsigned, parseIpv4, parseIpv6, strtoul } from './inet.js';
import { JsonWriter } from './json.js';
import { linkIndex, linkName, type LinkTable } from './links.js';
import type { GlobalOptions } from './options.js';
import {
  EXIT_USAGE,
  FDB_USAGE,
  PROGRAM,
  UsageError,
  daemonUnreachable,
  duplicateArgument,
  duplicateValue,
  familyAddressExpected,
  fatal,
  invalidArgument,
  netlinkRefused,
  notImplemented,
  usage,
} from './usage-errors.js';
import fs from 'node:fs';

export interface FdbContext {
  options: GlobalOptions;
  client(): Promise<TunnelClient>;
  links: LinkTable;
  /** /etc/services, for `port NAME`; null when there is none. */
  services?: () => string | null;
}

/** `bridge`'s nodev(): `Cannot find device "X"`, and the command fails (exit 255). */
function noDevice(name: string): UsageError {
  return fatal(`Cannot find device "${name}"`);
}

/** `sscanf(addr, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx")` succeeding on all six: the bytes, else null. */
export function scanMac(text: string): Uint8Array | null {
  const out = new Uint8Array(6);
  let i = 0;
  for (let field = 0; field < 6; field++) {
    if (field > 0) {
      if (text[i] !== ':') return null;
      i++;
    }
    const r = strtoul(text, 16, i);
    if (r.end === i) return null;
    out[field] = Number(r.value & 0xffn);
    i = r.end;
  }
  return out;
}

/** strtoul(text, &end, 0) with no trailing garbage; undefined otherwise. */
function wholeUnsignedLong(text: string): bigint | undefined {
  const r = strtoul(text, 0);
  if (r.end !== text.length || r.end === 0) return undefined;
  return r.overflow ? 0xffff_ffff_ffff_ffffn : r.value;
}

/** getservbyname(name, "udp") from /etc/services. */
function udpService(name: string, services: string | null): number | undefined {
  if (services === null) return undefined;
  for (const line of services.split('\n')) {
    const [entry] = line.split('#');
    const words = entry.trim().split(/\s+/);
    if (words.length < 2) continue;
    const [service, portProto, ...aliases] = words;
    const [port, proto] = portProto.split('/');
    if (proto === 'udp' && (service === name || aliases.includes(name))) return Number(port);
  }
  return undefined;
}

interface ModifyRequest {
  dev: string;
  request: FdbRequest;
}

/** fdb_modify()'s parse and checks, in its order. */
export function parseFdbModify(args: readonly string[], ctx: FdbContext): ModifyRequest {
  let dev: string | undefined;
  let addr: string | undefined;
  let dst: { v4: number | null; v6: boolean } | undefined;
  let port = 0n;
  let vni: bigint | undefined;
  let via = 0;
  let vid = -1;
  let nhid = 0;
  let state = NUD_NOARP;
  let flags = 0;
  const cur = new ArgCursor(args);
  while (!cur.done) {
    const word = cur.next()!;
    if (word === 'dev') {
      dev = cur.expect();
    } else if (word === 'dst') {
      const text = cur.expect();
      if (dst !== undefined) throw duplicateArgument('dst', text);
      if (text === 'any' || text === 'all' || text === 'default') dst = { v4: 0, v6: false };
      else if (text.includes(':')) {
        if (parseIpv6(text) === undefined) throw familyAddressExpected('any valid', text);
        dst = { v4: null, v6: true };
      } else {
        const v4 = parseIpv4(text);
        if (v4 === undefined) throw familyAddressExpected('any valid', text);
        dst = { v4, v6: false };
      }
    } else if (word === 'nhid') {
      const text = cur.expect();
      const value = getUnsigned(text, 0);
      if (value === undefined) throw invalidArgument('"id" value is invalid\n', text);
      nhid = value;
    } else if (word === 'port') {
      const text = cur.expect();
      const value = wholeUnsignedLong(text);
      if (value === undefined) {
        const service = udpService(text, ctx.services?.() ?? null);
        if (service === undefined) throw invalidArgument('invalid port\n', text);
        port = BigInt(service);
      } else if (value > 0xffffn) {
        throw invalidArgument('invalid port\n', text);
      } else {
        port = value;
      }
    } else if (word === 'vni' || word === 'src_vni') {
      const text = cur.expect();
      const value = wholeUnsignedLong(text);
      if (value === undefined || value >> 24n !== 0n || value === 0xffff_ffff_ffff_ffffn) {
        throw invalidArgument(word === 'vni' ? 'invalid VNI\n' : 'invalid src VNI\n', text);
      }
      if (word === 'vni') vni = value;
    } else if (word === 'via') {
      const text = cur.expect();
      via = linkIndex(ctx.links, text);
      if (via === 0) throw noDevice(text);
    } else if (word === 'self') {
      flags |= NTF_SELF;
    } else if (matches(word, 'master')) {
      flags |= NTF_MASTER;
    } else if (matches(word, 'router')) {
      flags |= NTF_ROUTER;
    } else if (matches(word, 'local') || matches(word, 'permanent')) {
      state |= NUD_PERMANENT;
    } else if (matches(word, 'temp') || matches(word, 'static')) {
      state |= NUD_REACHABLE;
    } else if (matches(word, 'dynamic')) {
      state |= NUD_REACHABLE;
      state &= ~NUD_NOARP;
    } else if (matches(word, 'vlan')) {
      if (vid >= 0) throw duplicateArgument('vlan', word);
      vid = Number.parseInt(cur.expect(), 10) || 0;
    } else if (matches(word, 'use')) {
      flags |= NTF_USE;
    } else if (matches(word, 'extern_learn')) {
      flags |= NTF_EXT_LEARNED;
    } else if (matches(word, 'sticky')) {
      flags |= NTF_STICKY;
    } else {
      const text = word === 'to' ? cur.expect() : word;
      if (matches(text, 'help')) throw usage(FDB_USAGE);
      if (addr !== undefined) throw duplicateArgument('to', text);
      addr = text;
    }
  }
  if (dev === undefined || addr === undefined) throw fatal('Device and address are required arguments.');
  if (nhid !== 0 && (dst !== undefined || port !== 0n || vni !== undefined)) {
    throw fatal('dst, port, vni are mutually exclusive with nhid');
  }
  if (!(flags & (NTF_SELF | NTF_MASTER))) flags |= NTF_SELF;
  if (!(state & (NUD_PERMANENT | NUD_REACHABLE))) state |= NUD_PERMANENT;
  const mac = scanMac(addr);
  if (mac === null) throw fatal(`Invalid mac address ${addr}`);
  if (linkIndex(ctx.links, dev) === 0) throw noDevice(dev);
  // What the kernel refuses for a vxlan device before its own rules, answered here for an IPv4 burrow.
  if (dst?.v6) throw new UsageError('kernel', 'RTNETLINK answers: Address family not supported by protocol', EXIT_USAGE);
  if (nhid !== 0) throw notImplemented('fdb nexthop groups (nhid) are not supported');
  // A request for the bridge layer only (`master` without `self`) reaches no vxlan device: rtnl_fdb_add answers EINVAL.
  if (!(flags & NTF_SELF)) throw new UsageError('kernel', 'RTNETLINK answers: Invalid argument', EXIT_USAGE);
  return {
    dev,
    request: {
      mac: macKey(mac),
      ip: dst?.v4 ?? 0,
      hasIp: dst !== undefined,
      port: port !== 0n ? Number(port) : null,
      vni: vni !== undefined ? Number(vni) : null,
      ifindex: via,
      state,
      flags,
      nlFlags: 0,
    },
  };
}

async function modify(command: FdbCommand, args: readonly string[], ctx: FdbContext): Promise<string> {
  const { dev, request } = parseFdbModify(args, ctx);
  const client = await ctx.client();
  try {
    await client.request({ op: 'fdb.modify', name: dev, command, request });
  } catch (error) {
    if (error instanceof BurrowError) throw netlinkRefused(error, EXIT_USAGE);
    throw error;
  }
  return '';
}

/** Every FDB entry of every burrow vxlan device (RTM_GETNEIGH dump). */
async function listEntries(ctx: FdbContext): Promise<FdbEntryInfo[]> {
  const client = await ctx.client();
  try {
    return await client.request({ op: 'fdb.list' });
  } catch (error) {
    if (error instanceof BurrowError) throw daemonUnreachable(error);
    throw error;
  }
}

/** state_a2n(). */
function parseState(text: string): number | undefined {
  if (matches(text, 'permanent')) return NUD_PERMANENT;
  if (matches(text, 'static') || matches(text, 'temp')) return NUD_NOARP;
  if (matches(text, 'stale')) return NUD_STALE;
  if (matches(text, 'reachable') || matches(text, 'dynamic')) return NUD_REACHABLE;
  if (text === 'all') return 0xffff_ffff;
  return getUnsigned(text, 0);
}

async function show(args: readonly string[], ctx: FdbContext): Promise<string> {
  let filterDev: string | undefined;
  let bridge: string | undefined;
  let filterVlan = 0;
  let filterState = 0;
  let dynamicOnly = false;
  const cur = new ArgCursor(args);
  while (!cur.done) {
    const word = cur.next()!;
    if (word === 'brport' || word === 'dev') filterDev = cur.expect();
    else if (word === 'br') bridge = cur.expect();
    else if (word === 'vlan') {
      const text = cur.expect();
      if (filterVlan) throw duplicateValue('vlan', text);
      filterVlan = Number.parseInt(text, 10) || 0;
    } else if (word === 'state') {
      const text = cur.expect();
      const state = parseState(text);
      if (state === undefined) throw invalidArgument('invalid state', text);
      filterState |= state;
    } else if (word === 'dynamic') {
      dynamicOnly = true;
    } else if (matches(word, 'help')) {
      throw usage(FDB_USAGE);
    }
  }
  if (bridge !== undefined && linkIndex(ctx.links, bridge) === 0) {
    throw new UsageError('invalid', `Cannot find bridge device "${bridge}"`, EXIT_USAGE);
  }
  const filterIndex = filterDev === undefined ? 0 : linkIndex(ctx.links, filterDev);
  if (filterDev !== undefined && filterIndex === 0) throw noDevice(filterDev);
  const entries = await listEntries(ctx);
  const shown = entries.filter(
    (e) =>
      // burrow's devices are no bridge's ports: a `br` filter leaves nothing, and none has a VLAN.
      bridge === undefined &&
      filterVlan === 0 &&
      (filterIndex === 0 || e.ifindex === filterIndex) &&
      (filterState === 0 || (e.state & filterState) !== 0) &&
      !(dynamicOnly && e.state & NUD_PERMANENT),
  );
  return formatFdb(shown, { ...ctx.options, links: ctx.links, filtered: filterIndex !== 0 });
}

/** fdb_get(): one entry, asked of the device itself (`self`, or `br DEV` without `dev`). */
async function get(args: readonly string[], ctx: FdbContext): Promise<string> {
  let dev: string | undefined;
  let bridge: string | undefined;
  let addr: string | undefined;
  let self = false;
  let vlan = -1;
  let dynamicOnly = false;
  const cur = new ArgCursor(args);
  while (!cur.done) {
    const word = cur.next()!;
    if (word === 'brport' || word === 'dev') dev = cur.expect();
    else if (word === 'br') bridge = cur.expect();
    else if (word === 'vni') {
      const text = cur.expect();
      const value = wholeUnsignedLong(text);
      if (value === undefined || value >> 24n !== 0n || value === 0xffff_ffff_ffff_ffffn) throw invalidArgument('invalid VNI\n', text);
    } else if (word === 'self') self = true;
    else if (matches(word, 'master')) {
      // the bridge layer's entry: none for burrow's devices
    } else if (matches(word, 'vlan')) {
      if (vlan >= 0) throw duplicateArgument('vlan', word);
      vlan = Number.parseInt(cur.expect(), 10) || 0;
    } else if (matches(word, 'dynamic')) dynamicOnly = true;
    else {
      const text = word === 'to' ? cur.expect() : word;
      if (matches(text, 'help')) throw usage(FDB_USAGE);
      if (addr !== undefined) throw duplicateArgument('to', text);
      addr = text;
    }
  }
  if ((dev === undefined && bridge === undefined) || addr === undefined) {
    throw fatal('Device or master and address are required arguments.');
  }
  const mac = scanMac(addr);
  if (mac === null) throw fatal(`Invalid mac address ${addr}`);
  if (dev !== undefined && linkIndex(ctx.links, dev) === 0) throw noDevice(dev);
  if (bridge !== undefined && linkIndex(ctx.links, bridge) === 0) throw fatal(`Cannot find bridge device "${bridge}"`);
  // rtnl_fdb_get: a port is asked through its bridge unless `self`; burrow's devices are no bridge's ports.
  if (dev !== undefined && !self) throw new UsageError('kernel', 'Error: Device is not a bridge port.', 254);
  const name = dev ?? bridge!;
  const entries = await listEntries(ctx);
  const wanted = entries.find((e) => e.dev === name && e.mac === formatMacText(mac));
  if (wanted === undefined) throw new UsageError('kernel', 'Error: Fdb entry not found.', 254);
  if (dynamicOnly && wanted.state & NUD_PERMANENT) return ctx.options.json ? '[]\n' : '';
  // vxlan_fdb_get answers with the entry's first remote.
  return formatFdb([{ ...wanted, remotes: wanted.remotes.slice(0, 1) }], { ...ctx.options, links: ctx.links, filtered: false });
}

function formatMacText(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** `burrow fdb ARGS...`. */
export async function runFdbCommand(args: readonly string[], ctx: FdbContext): Promise<string> {
  if (args.length === 0) return show([], ctx);
  const [command, ...rest] = args as [string, ...string[]];
  if (matches(command, 'add')) return modify('add', rest, ctx);
  if (matches(command, 'append')) return modify('append', rest, ctx);
  if (matches(command, 'replace')) return modify('replace', rest, ctx);
  if (matches(command, 'delete')) return modify('del', rest, ctx);
  if (matches(command, 'show') || matches(command, 'lst') || matches(command, 'list')) return show(rest, ctx);
  if (matches(command, 'get')) return get(rest, ctx);
  if (matches(command, 'flush')) throw notImplemented('fdb flush is not implemented yet; use fdb del');
  if (matches(command, 'help')) throw usage(FDB_USAGE);
  throw new UsageError('unknown', `Command "${command}" is unknown, try "${PROGRAM} fdb help".`, EXIT_USAGE);
}

/** The services file, when there is one. */
export function systemServices(): string | null {
  try {
    return fs.readFileSync('/etc/services', 'utf8');
  } catch {
    return null;
  }
}

// ---- bridge fdb show output (print_fdb) -----------------------------------------------------------

export interface FdbPrintOptions {
  json: boolean;
  pretty: boolean;
  stats: number;
  links: LinkTable;
  /** A `dev` filter was given: lines leave out `dev NAME`. */
  filtered: boolean;
}

/** state_n2a(). */
function stateName(state: number): string {
  if (state & NUD_PERMANENT) return 'permanent';
  if (state & NUD_NOARP) return 'static';
  if (state & NUD_STALE) return 'stale';
  if (state & NUD_REACHABLE) return '';
  return `state=0x${state.toString(16)}`;
}

const FLAG_ORDER: ReadonlyArray<readonly [number, string]> = [
  [NTF_SELF, 'self'],
  [NTF_ROUTER, 'router'],
  [NTF_EXT_LEARNED, 'extern_learn'],
  [NTF_OFFLOADED, 'offload'],
  [NTF_MASTER, 'master'],
  [NTF_STICKY, 'sticky'],
];

/** The entries as `bridge fdb show` lists them: one line (or JSON object) per remote. */
export function formatFdb(entries: readonly FdbEntryInfo[], o: FdbPrintOptions): string {
  const json = o.json ? new JsonWriter(o.pretty) : undefined;
  json?.startArray();
  let text = '';
  for (const e of entries) {
    for (const r of e.remotes) {
      const devicePort = e.devicePort;
      const deviceVni = e.deviceVni;
      const flags = FLAG_ORDER.filter(([bit]) => e.flags & bit).map(([, name]) => name);
      if (json) {
        json.startObject();
        json.name('mac').string(e.mac);
        if (!o.filtered) json.name('ifname').string(e.dev);
        json.name('dst').string(formatIpv4(r.ip));
        if (r.port !== 0 && r.port !== devicePort) json.name('port').number(r.port);
        if (r.vni !== deviceVni) json.name('vni').number(r.vni);
        if (r.ifindex !== 0) json.name('viaIf').string(linkName(o.links, r.ifindex));
        if (o.stats > 0) {
          json.name('used').number(e.used);
          json.name('updated').number(e.updated);
        }
        json.name('flags').startArray();
        for (const f of flags) json.string(f);
        json.endArray();
        json.name('state').string(stateName(e.state));
        json.endObject();
        continue;
      }
      let line = `${e.mac} `;
      if (!o.filtered) line += `dev ${e.dev} `;
      line += `dst ${formatIpv4(r.ip)} `;
      if (r.port !== 0 && r.port !== devicePort) line += `port ${r.port} `;
      if (r.vni !== deviceVni) line += `vni ${r.vni} `;
      if (r.ifindex !== 0) line += `via ${linkName(o.links, r.ifindex)} `;
      if (o.stats > 0) line += `used ${e.used}/${e.updated} `;
      for (const f of flags) line += `${f} `;
      text += `${line}${stateName(e.state)}\n`;
    }
  }
  if (json) {
    json.endArray();
    return json.finish();
  }
  return text;
}
