/**
 * What `ip xfrm state` and `ip xfrm policy` share (ip/ipxfrm.c): the ID, mode, mark, selector and
 * lifetime readers, with iproute2 6.1's messages and its way of walking argv.
 *
 * iproute2's xfrm readers step back (`PREV_ARG`) when they meet a word that is not theirs, so the
 * caller's loop sees it again; a word may even be read twice (`sel foo` ends as `"foo" is wrong:
 * unknown`). `XfrmArgs` keeps argc/argv as the C code does so that every path ends where iproute2's
 * does. Addresses are read with the family preferred so far (`-4`, `-6`, or the ID's), as
 * iproute2's global `preferred_family` has it.
 */
import { getIpv4Prefix, getIpv6Prefix, getU8, getUnsigned, getAddr32, parseIpv4, parseIpv6, strtoul, type Ipv4Prefix } from './inet.js';
import type { LinkTable } from './links.js';
import type { ProtocolTable } from './protocols.js';
import { anyExpected, duplicateValue, incompleteCommand, invalidArgument, missingArgument, plainError } from './usage-errors.js';
import { AF_INET, AF_INET6, AF_UNSPEC, emptySelector, hasPorts, hasTypeCode, type Selector } from '../xfrm/selector.js';
import type { XfrmMark } from '../xfrm/state.js';

/** argc/argv as iproute2's loops walk them: `word` is *argv, `argc` what is left from it on. */
export class XfrmArgs {
  private i = 0;

  constructor(private readonly args: readonly string[]) {}

  get argc(): number {
    return this.args.length - this.i;
  }

  get word(): string {
    return this.args[this.i] ?? '';
  }

  /** NEXT_ARG(). */
  next(): void {
    this.i++;
    if (this.argc <= 0) throw incompleteCommand();
  }

  /** NEXT_ARG_OK(). */
  nextOk(): boolean {
    return this.argc - 1 > 0;
  }

  /** PREV_ARG(). */
  prev(): void {
    this.i--;
  }

  /** The `argc--; argv++` at the end of each main-loop round. */
  advance(): void {
    this.i++;
  }

  /** Position, to compare as iproute2 compares argc with *argcp. */
  get position(): number {
    return this.i;
  }
}

/** What the readers share: the preferred family (iproute2's global), devices and protocol names. */
export interface XfrmParseContext {
  family: number;
  links: LinkTable;
  protocols: ProtocolTable;
}

export interface Prefix {
  family: number;
  /** IPv4 address (host order); 0 for IPv6, which burrow refuses after parsing. */
  address: number;
  bitlen: number;
}

function isAnyWord(text: string): boolean {
  return text === 'any' || text === 'all' || text === 'default';
}

/** get_prefix(&p, arg, family): AF_UNSPEC takes either family ("any" gives AF_UNSPEC). */
export function getPrefix(text: string, family: number): Prefix {
  if (family === AF_INET) {
    const p: Ipv4Prefix = getIpv4Prefix(text);
    return { family: AF_INET, address: p.address, bitlen: p.length };
  }
  if (family === AF_INET6) {
    const p = getIpv6Prefix(text);
    return { family: AF_INET6, address: 0, bitlen: p.length };
  }
  if (isAnyWord(text)) return { family: AF_UNSPEC, address: 0, bitlen: 0 };
  const slash = text.indexOf('/');
  const head = slash < 0 ? text : text.slice(0, slash);
  const fail = () => anyExpected('prefix', text);
  if (!head.includes(':') && parseIpv4(head) === undefined) throw fail();
  if (head.includes(':') && parseIpv6(head) === undefined) throw fail();
  try {
    return getPrefix(text, head.includes(':') ? AF_INET6 : AF_INET);
  } catch {
    throw fail();
  }
}

/** get_addr(&a, arg, AF_UNSPEC). */
export function getAddress(text: string): Prefix {
  if (isAnyWord(text)) return { family: AF_UNSPEC, address: 0, bitlen: 0 };
  if (text.includes(':')) {
    if (parseIpv6(text) === undefined) throw anyExpected('address', text);
    return { family: AF_INET6, address: 0, bitlen: 128 };
  }
  const a = parseIpv4(text);
  if (a === undefined) throw anyExpected('address', text);
  return { family: AF_INET, address: a, bitlen: 32 };
}

/** get_u32 (base 0): the value or undefined. */
export function getU32(text: string): number | undefined {
  return getUnsigned(text, 0);
}

/** get_u16 (base 0). */
export function getU16(text: string): number | undefined {
  if (text.length === 0) return undefined;
  const r = strtoul(text, 0);
  if (r.end !== text.length || r.value > 0xffffn) return undefined;
  return Number(r.value);
}

/** get_u64 (base 0). */
export function getU64(text: string): bigint | undefined {
  if (text.length === 0) return undefined;
  const r = strtoul(text, 0);
  if (r.end !== text.length || r.overflow) return undefined;
  return r.value;
}

export const XFRM_PROTOS: ReadonlyArray<readonly [string, number]> = [
  ['esp', 50],
  ['ah', 51],
  ['comp', 108],
  ['route2', 43],
  ['hao', 60],
  ['ipsec-any', 255],
];

export function xfrmProtoByName(name: string): number | undefined {
  return XFRM_PROTOS.find(([n]) => n === name)?.[1];
}

/** strxf_xfrmproto. */
export function xfrmProtoName(proto: number): string {
  return XFRM_PROTOS.find(([, p]) => p === proto)?.[0] ?? String(proto);
}

/** `src`/`dst` inside an ID or a selector (the cursor on the keyword): the prefix, or iproute2's error. */
function readAddress(a: XfrmArgs, ctx: XfrmParseContext, keyword: string): Prefix {
  a.next();
  const p = getPrefix(a.word, ctx.family);
  if (p.family === AF_UNSPEC) throw invalidArgument(`value after "${keyword}" has an unrecognized address family`, a.word);
  return p;
}

function checkSameFamily(a: XfrmArgs, src: number, dst: number): void {
  if (src !== AF_UNSPEC && dst !== AF_UNSPEC && src !== dst) {
    throw invalidArgument('the same address family is required between values after "src" and "dst"', a.word);
  }
}

/** xfrm_addr_match on IPv4: the first `bits` bits equal (0: anything). */
export function prefixMatches(address: number, wanted: number, bits: number): boolean {
  if (bits === 0) return true;
  const mask = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
  return ((address ^ wanted) & mask) === 0;
}

export interface XfrmId {
  family: number;
  src: number;
  dst: number;
  proto: number;
  spi: number;
  /** Prefix lengths given (the list filters'), 0 when none. */
  srcMask: number;
  dstMask: number;
  /** Which parts were given (list filters). */
  hasProto: boolean;
  hasSpi: boolean;
}

export function emptyId(family: number): XfrmId {
  return { family, src: 0, dst: 0, proto: 0, spi: 0, srcMask: 0, dstMask: 0, hasProto: false, hasSpi: false };
}

/** xfrm_id_parse: src, dst, proto, spi in any order, until another word. `loose`: proto may be absent. */
export function parseId(a: XfrmArgs, ctx: XfrmParseContext, id: XfrmId, loose: boolean): void {
  const start = a.position;
  let srcFamily = AF_UNSPEC;
  let dstFamily = AF_UNSPEC;
  for (;;) {
    const w = a.word;
    if (w === 'src' || w === 'dst') {
      const p = readAddress(a, ctx, w);
      id.family = p.family;
      if (w === 'src') {
        id.src = p.address;
        id.srcMask = p.bitlen;
        srcFamily = p.family;
      } else {
        id.dst = p.address;
        id.dstMask = p.bitlen;
        dstFamily = p.family;
      }
    } else if (w === 'proto') {
      a.next();
      const proto = xfrmProtoByName(a.word);
      if (proto === undefined) throw invalidArgument('XFRM-PROTO value is invalid', a.word);
      id.proto = proto;
      id.hasProto = true;
    } else if (w === 'spi') {
      a.next();
      const spi = getU32(a.word);
      if (spi === undefined) throw invalidArgument('SPI value is invalid', a.word);
      id.spi = spi;
      id.hasSpi = true;
    } else {
      a.prev();
      break;
    }
    if (!a.nextOk()) break;
    a.next();
  }
  checkSameFamily(a, srcFamily, dstFamily);
  if (!loose && id.proto === 0) throw missingArgument('XFRM-PROTO');
  if (a.position === start) throw missingArgument('ID');
}

export const XFRM_MODES: ReadonlyArray<readonly [string, number]> = [
  ['transport', 0],
  ['tunnel', 1],
  ['ro', 2],
  ['in_trigger', 3],
  ['beet', 4],
];

/** xfrm_mode_parse: any prefix of a mode name, in this order. */
export function parseMode(word: string): number {
  for (const [name, mode] of XFRM_MODES) if (word.length > 0 && name.startsWith(word)) return mode;
  throw invalidArgument('MODE value is invalid', word);
}

export function modeName(mode: number): string {
  return XFRM_MODES.find(([, m]) => m === mode)?.[0] ?? String(mode);
}

/** xfrm_parse_mark: `mark V [mask M]` (the cursor is on `mark`); no mask is 0xffffffff. */
export function parseMark(a: XfrmArgs): XfrmMark {
  a.next();
  const value = getU32(a.word);
  if (value === undefined) throw invalidArgument('MARK value is invalid\n', a.word);
  if (a.argc <= 1) return { value, mask: 0xffffffff };
  a.next();
  if (a.word === 'mask') {
    a.next();
    const mask = getU32(a.word);
    if (mask === undefined) throw invalidArgument('MASK value is invalid\n', a.word);
    return { value, mask };
  }
  a.prev();
  return { value, mask: 0xffffffff };
}

/** What a selector reader saw, for the list filters (prefix lengths, and which upper-layer fields). */
export interface SelectorSeen {
  srcMask: number;
  dstMask: number;
  dev: boolean;
  proto: boolean;
  sport: boolean;
  dport: boolean;
}

function upspec(a: XfrmArgs, ctx: XfrmParseContext, sel: Selector, seen: SelectorSeen): void {
  const start = a.position;
  let ports = false;
  let typeCode = false;
  let key = false;
  for (;;) {
    const w = a.word;
    if (w === 'proto') {
      a.next();
      let proto: number | undefined;
      if (a.word === 'any') proto = 0;
      else proto = ctx.protocols.number(a.word) ?? getU8(a.word, 0);
      if (proto === undefined) throw invalidArgument('PROTO value is invalid', a.word);
      sel.proto = proto;
      seen.proto = true;
    } else if (w === 'sport' || w === 'dport') {
      ports = true;
      a.next();
      const port = getU16(a.word);
      if (port === undefined) throw invalidArgument(`value after "${w}" is invalid`, a.word);
      if (w === 'sport') {
        sel.sport = port;
        if (port !== 0) sel.sportMask = 0xffff;
        seen.sport = true;
      } else {
        sel.dport = port;
        if (port !== 0) sel.dportMask = 0xffff;
        seen.dport = true;
      }
    } else if (w === 'type' || w === 'code') {
      typeCode = true;
      a.next();
      const v = getU16(a.word);
      if (v === undefined || v > 0xff) throw invalidArgument(`value after "${w}" is invalid`, a.word);
      if (w === 'type') {
        sel.sport = v;
        sel.sportMask = 0xffff;
        seen.sport = true;
      } else {
        sel.dport = v;
        sel.dportMask = 0xffff;
        seen.dport = true;
      }
    } else if (w === 'key') {
      key = true;
      a.next();
      let value: number;
      if (a.word.includes('.')) {
        value = getAddr32(a.word);
      } else {
        const v = getUnsigned(a.word, 0);
        if (v === undefined) throw plainError('value after "key" is invalid', 255);
        value = v;
      }
      sel.sport = value >>> 16;
      sel.dport = value & 0xffff;
      sel.sportMask = sel.dportMask = 0xffff;
      seen.dport = true;
    } else {
      a.prev();
      break;
    }
    if (!a.nextOk()) break;
    a.next();
  }
  if (a.position === start) throw missingArgument('UPSPEC');
  const name = ctx.protocols.name(sel.proto);
  // IPPROTO_IP (0) takes ports too: an SA shared by several protocols.
  if (ports && sel.proto !== 0 && !hasPorts(sel.proto)) throw plainError(`"sport" and "dport" are invalid with PROTO value "${name}"`, 1);
  if (typeCode && !hasTypeCode(sel.proto)) throw plainError(`"type" and "code" are invalid with PROTO value "${name}"`, 1);
  if (key && sel.proto !== 47) throw plainError(`"key" is invalid with PROTO value "${name}"`, 1);
}

/** xfrm_selector_parse into `sel` (starting from what it holds), with what was seen. */
export function parseSelector(a: XfrmArgs, ctx: XfrmParseContext, sel: Selector): SelectorSeen {
  const start = a.position;
  const seen: SelectorSeen = { srcMask: 0, dstMask: 0, dev: false, proto: false, sport: false, dport: false };
  let upspecDone = false;
  let srcFamily = AF_UNSPEC;
  let dstFamily = AF_UNSPEC;
  for (;;) {
    const w = a.word;
    if (w === 'src' || w === 'dst') {
      const p = readAddress(a, ctx, w);
      sel.family = p.family;
      if (w === 'src') {
        sel.src = p.address;
        sel.srcLength = p.bitlen;
        seen.srcMask = p.bitlen;
        srcFamily = p.family;
      } else {
        sel.dst = p.address;
        sel.dstLength = p.bitlen;
        seen.dstMask = p.bitlen;
        dstFamily = p.family;
      }
    } else if (w === 'dev') {
      a.next();
      let ifindex = 0;
      if (a.word !== 'none') {
        ifindex = ctx.links.indexOf(a.word);
        if (ifindex <= 0) throw invalidArgument('DEV value is invalid', a.word);
      }
      sel.ifindex = ifindex;
      seen.dev = true;
    } else if (upspecDone) {
      a.prev();
      break;
    } else {
      upspecDone = true;
      upspec(a, ctx, sel, seen);
    }
    if (!a.nextOk()) break;
    a.next();
  }
  checkSameFamily(a, srcFamily, dstFamily);
  if (a.position === start) throw missingArgument('SELECTOR');
  return seen;
}

export { emptySelector };

const LIMITS = ['time-soft', 'time-hard', 'time-use-soft', 'time-use-hard', 'byte-soft', 'byte-hard', 'packet-soft', 'packet-hard'];

/** xfrm_lifetime_cfg_parse (the cursor is on the word after `limit`). burrow keeps no lifetimes. */
export function parseLimit(a: XfrmArgs): void {
  const w = a.word;
  if (!LIMITS.includes(w)) throw invalidArgument('LIMIT value is invalid', w);
  a.next();
  if (getU64(a.word) === undefined) throw invalidArgument(`value after "${w}" is invalid`, a.word);
}

/**
 * A flag list (the cursor on its first word): `0xNN` in hex, else known names until another word,
 * which is stepped back to. Returns the flags.
 */
export function parseFlags(a: XfrmArgs, names: ReadonlyArray<readonly [string, number]>, hexMessage: string, hexArgument: 'u8' | 'u32'): number {
  const w = a.word;
  if (w.length > 2 && w.startsWith('0x')) {
    const r = strtoul(w, 16);
    const max = hexArgument === 'u8' ? 0xffn : 0xffffffffn;
    if (r.end !== w.length || r.end === 0 || r.value > max) throw invalidArgument(hexMessage, w);
    return Number(r.value);
  }
  let flags = 0;
  for (;;) {
    const known = names.find(([name]) => name === a.word);
    if (known === undefined) {
      a.prev();
      break;
    }
    flags |= known[1];
    if (!a.nextOk()) break;
    a.next();
  }
  return flags;
}

/** `flush [KEYWORD VALUE]`: at most one keyword (duparg), nothing else (`unknown`); 0 when absent. */
export function parseFlushOption(args: readonly string[], keyword: string, read: (word: string) => number): number {
  const a = new XfrmArgs(args);
  let seen: string | undefined;
  let value = 0;
  while (a.argc > 0) {
    if (a.word !== keyword) throw invalidArgument('unknown', a.word);
    seen = once(seen, keyword, a.word);
    a.next();
    value = read(a.word);
    a.advance();
  }
  return value;
}

/** `duparg(key, arg)` when `seen` is already set. */
export function once(seen: string | undefined, key: string, word: string): string {
  if (seen !== undefined) throw duplicateValue(key, word);
  return word;
}
