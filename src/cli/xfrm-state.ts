/**
 * `burrow xfrm state {add|update|allocspi|delete|deleteall|list|get|flush|count|help}`: ip/xfrm_state.c's
 * grammar and iproute2 6.1's messages, for the daemon's IPsec states.
 *
 * Everything iproute2 parses is parsed here, in its order and with its failures; what burrow does not
 * implement (limits, encapsulation, offload, ...) is carried to the daemon by name and refused there
 * after the checks the kernel would make first. `update` and `allocspi` are refused after parsing.
 */
import type { XfrmStateId } from '../control/protocol.js';
import { AF_INET, AF_UNSPEC } from '../xfrm/selector.js';
import { IPPROTO_AH, IPPROTO_COMP, IPPROTO_DSTOPTS, IPPROTO_ESP, IPPROTO_ROUTING, XFRM_MODE_BEET, XFRM_MODE_IN_TRIGGER, XFRM_MODE_ROUTEOPTIMIZATION, XFRM_MODE_TRANSPORT, XFRM_MODE_TUNNEL, emptyStateRequest, type XfrmStateInfo, type XfrmStateRequest } from '../xfrm/state.js';
import { matches } from './argv.js';
import {
  XfrmArgs,
  emptyId,
  getAddress,
  getPrefix,
  getU16,
  getU32,
  parseFlags,
  parseFlushOption,
  parseId,
  parseLimit,
  parseMark,
  parseMode,
  parseSelector,
  prefixMatches,
  once,
  xfrmProtoByName,
  xfrmProtoName,
  type XfrmId,
  type XfrmParseContext,
} from './xfrm-args.js';
import type { XfrmContext } from './xfrm.js';
import { formatStateCount, formatStates } from './xfrm-print.js';
import {
  PROGRAM,
  XFRM_STATE_USAGE,
  duplicateValue,
  invalidArgument,
  missingArgument,
  notImplemented,
  plainError,
  usage,
} from './usage-errors.js';

export const STATE_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['noecn', 1],
  ['decap-dscp', 2],
  ['nopmtudisc', 4],
  ['wildrecv', 8],
  ['icmp', 16],
  ['af-unspec', 32],
  ['align4', 64],
  ['esn', 128],
];

const EXTRA_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['dont-encap-dscp', 1],
  ['oseq-may-wrap', 2],
];

const XFRM_STATE_ESN = 128;
const XFRMA_REPLAY_ESN_MAX = 4096;
/** XFRM_ALGO_KEY_BUF_SIZE: the key buffer iproute2 fills. */
const KEY_BUFFER = 512;

type AlgoType = 'enc' | 'auth' | 'comp' | 'aead' | 'auth-trunc';
const ALGO_TYPES: readonly AlgoType[] = ['enc', 'auth', 'comp', 'aead', 'auth-trunc'];

/** xfrm_algo_parse: `0x` hex (an odd length gets a leading 0) or the bytes of the text. Hex out. */
function parseKey(key: string): string {
  if (key.length > 2 && key.startsWith('0x')) {
    let hex = key.slice(2);
    if (hex.length % 2 === 1) hex = '0' + hex;
    if (hex.length / 2 > KEY_BUFFER) throw invalidArgument('ALGO-KEYMAT value makes buffer overflow\n', key);
    for (let i = 0; i < hex.length; i += 2) {
      // get_u8 base 16 on each pair: strtoul takes a sign, so "+1" is read, "-1" is not.
      const pair = hex.slice(i, i + 2);
      if (!/^([0-9a-fA-F]{2}|\+[0-9a-fA-F])$/.test(pair)) throw invalidArgument('ALGO-KEYMAT value is invalid', key);
    }
    return hex.replace(/\+/g, '0').toLowerCase();
  }
  const bytes = Buffer.from(key, 'latin1');
  if (bytes.length > KEY_BUFFER) throw invalidArgument('ALGO-KEYMAT value makes buffer overflow\n', key);
  return bytes.toString('hex');
}

function isIpsec(proto: number): boolean {
  return proto === IPPROTO_ESP || proto === IPPROTO_AH || proto === IPPROTO_COMP;
}

function isRouteOptimisation(proto: number): boolean {
  return proto === IPPROTO_ROUTING || proto === IPPROTO_DSTOPTS;
}

function parseContext(ctx: XfrmContext): XfrmParseContext {
  return { family: ctx.options.family, links: ctx.links, protocols: ctx.protocols };
}

/** xfrm_state_modify: the request `add` sends. */
export function parseStateAdd(args: readonly string[], ctx: XfrmContext): XfrmStateRequest {
  const pc = parseContext(ctx);
  const a = new XfrmArgs(args);
  const id = emptyId(pc.family);
  let idSeen: string | undefined;
  const r = emptyStateRequest(pc.family);
  const algos = new Map<AlgoType, string>();
  let coa: string | undefined;
  let sctx: string | undefined;
  const u32 = (message: string): number => {
    a.next();
    const v = getU32(a.word);
    if (v === undefined) throw invalidArgument(message, a.word);
    return v;
  };
  const extra = (word: string) => {
    if (!r.unsupported.includes(word)) r.unsupported.push(word);
  };
  while (a.argc > 0) {
    const w = a.word;
    if (w === 'mode') {
      a.next();
      r.mode = parseMode(a.word);
    } else if (w === 'mark') {
      r.mark = parseMark(a);
    } else if (w === 'reqid') {
      r.reqid = u32('REQID value is invalid');
    } else if (w === 'seq') {
      r.seq = u32('SEQ value is invalid');
    } else if (w === 'replay-window') {
      r.replayWindow = u32('value after "replay-window" is invalid');
    } else if (w === 'replay-seq') {
      r.replaySeq = u32('value after "replay-seq" is invalid');
    } else if (w === 'replay-seq-hi') {
      r.replaySeqHi = u32('value after "replay-seq-hi" is invalid');
    } else if (w === 'replay-oseq') {
      r.replayOseq = u32('value after "replay-oseq" is invalid');
    } else if (w === 'replay-oseq-hi') {
      r.replayOseqHi = u32('value after "replay-oseq-hi" is invalid');
    } else if (w === 'flag') {
      a.next();
      r.flags = parseFlags(a, STATE_FLAGS, 'FLAG value is invalid', 'u8');
    } else if (w === 'extra-flag') {
      a.next();
      r.extraFlags = parseFlags(a, EXTRA_FLAGS, '"EXTRA-FLAG" is invalid', 'u32');
    } else if (w === 'sel') {
      a.next();
      parseSelector(a, { ...pc, family: AF_UNSPEC }, r.sel);
      pc.family = r.sel.family;
    } else if (w === 'limit') {
      a.next();
      parseLimit(a);
      extra('limit');
    } else if (w === 'encap') {
      a.next();
      if (!['espinudp-nonike', 'espinudp', 'espintcp'].includes(a.word)) throw invalidArgument('ENCAP-TYPE value is invalid', a.word);
      a.next();
      if (getU16(a.word) === undefined) throw invalidArgument('SPORT value after "encap" is invalid', a.word);
      a.next();
      if (getU16(a.word) === undefined) throw invalidArgument('DPORT value after "encap" is invalid', a.word);
      a.next();
      getAddress(a.word);
      extra('encap');
    } else if (w === 'coa') {
      coa = once(coa, 'coa', a.word);
      a.next();
      const p = getPrefix(a.word, pc.family);
      if (p.family === AF_UNSPEC) throw invalidArgument('value after "coa" has an unrecognized address family', a.word);
    } else if (w === 'ctx') {
      sctx = once(sctx, 'ctx', a.word);
      a.next();
      extra('ctx');
    } else if (w === 'offload') {
      a.next();
      if (a.word === 'dev') {
        a.next();
        if (ctx.links.indexOf(a.word) === 0) throw invalidArgument('value after "offload dev" is invalid', a.word);
        a.next();
      }
      if (a.word !== 'dir') throw invalidArgument('value after "offload dir" is invalid', a.word);
      a.next();
      const offloadDir: string = a.word;
      if (offloadDir !== 'in' && offloadDir !== 'out') throw invalidArgument('DIR value is invalid', offloadDir);
      extra('offload');
    } else if (w === 'output-mark') {
      a.next();
      if (getU32(a.word) === undefined) throw invalidArgument('value after "output-mark" is invalid', a.word);
      if (a.argc > 1) {
        a.next();
        if (a.word === 'mask') {
          a.next();
          if (getU32(a.word) === undefined) throw invalidArgument('mask value is invalid\n', a.word);
        } else {
          a.prev();
        }
      }
      extra('output-mark');
    } else if (w === 'if_id') {
      a.next();
      if (getU32(a.word) === undefined) throw invalidArgument('value after "if_id" is invalid', a.word);
      extra('if_id');
    } else if (w === 'tfcpad') {
      a.next();
      if (getU32(a.word) === undefined) throw invalidArgument('value after "tfcpad" is invalid', a.word);
      extra('tfcpad');
    } else if ((ALGO_TYPES as readonly string[]).includes(w)) {
      parseAlgorithm(a, w as AlgoType, algos, r);
    } else {
      if (idSeen !== undefined) throw invalidArgument('unknown', w);
      idSeen = w;
      parseId(a, pc, id, false);
      if (pc.family === AF_UNSPEC) pc.family = id.family;
    }
    a.advance();
  }

  if (r.flags & XFRM_STATE_ESN && r.replayWindow === 0) throw plainError('Error: esn flag set without replay-window.', 255);
  if (r.replayWindow > XFRMA_REPLAY_ESN_MAX) {
    throw plainError(`Error: replay-window (${r.replayWindow}) > XFRMA_REPLAY_ESN_MAX (${XFRMA_REPLAY_ESN_MAX}).`, 255);
  }
  if (idSeen === undefined) throw plainError('Not enough information: ID is required', 1);
  // A mark whose mask is 0 is not sent.
  if (r.mark.mask === 0) r.mark = { value: 0, mask: 0 };
  const proto = id.proto;
  const name = xfrmProtoName(proto);
  const has = (t: AlgoType) => algos.has(t);
  if (isIpsec(proto)) {
    const modeOk = r.mode === XFRM_MODE_TRANSPORT || r.mode === XFRM_MODE_TUNNEL || (r.mode === XFRM_MODE_BEET && proto === IPPROTO_ESP);
    if (!modeOk) throw plainError(`MODE value is invalid with XFRM-PROTO value "${name}"`, 1);
    if (proto === IPPROTO_ESP) {
      if (has('comp')) throw plainError(`ALGO-TYPE value "comp" is invalid with XFRM-PROTO value "${name}"`, 1);
      if (!has('enc') && !has('aead')) throw plainError(`ALGO-TYPE value "enc" or "aead" is required with XFRM-PROTO value "${name}"`, 1);
    } else if (proto === IPPROTO_AH) {
      if (has('enc') || has('aead') || has('comp')) throw plainError(`ALGO-TYPE values "enc", "aead", and "comp" are invalid with XFRM-PROTO value "${name}"`, 1);
      if (!has('auth') && !has('auth-trunc')) throw plainError(`ALGO-TYPE value "auth" or "auth-trunc" is required with XFRM-PROTO value "${name}"`, 1);
    } else {
      if (has('enc') || has('auth') || has('auth-trunc') || has('aead')) {
        throw plainError(`ALGO-TYPE values "enc", "auth", "auth-trunc", and "aead" are invalid with XFRM-PROTO value "${name}"`, 1);
      }
      if (!has('comp')) throw plainError(`ALGO-TYPE value "comp" is required with XFRM-PROTO value "${name}"`, 1);
    }
  } else if (algos.size > 0) {
    throw plainError(`ALGO is invalid with XFRM-PROTO value "${name}"`, 1);
  }
  if (isRouteOptimisation(proto)) {
    if (id.spi !== 0) throw plainError(`"spi" is invalid with XFRM-PROTO value "${name}"`, 1);
    if (r.mode === 0) throw plainError(`"mode" is required with XFRM-PROTO value "${name}"`, 1);
    if (r.mode !== XFRM_MODE_ROUTEOPTIMIZATION && r.mode !== XFRM_MODE_IN_TRIGGER) {
      throw plainError(`MODE value is invalid with XFRM-PROTO value "${name}"`, 1);
    }
    if (coa === undefined) throw plainError(`"coa" is required with XFRM-PROTO value "${name}"`, 1);
  } else if (coa !== undefined) {
    throw plainError(`"coa" is invalid with XFRM-PROTO value "${name}"`, 1);
  }
  r.family = id.family === AF_UNSPEC ? AF_INET : id.family;
  r.src = id.src;
  r.dst = id.dst;
  r.proto = proto;
  r.spi = id.spi;
  return r;
}

/** The ALGO branch of xfrm_state_modify: type, name, key, and the ICV or truncation length. */
function parseAlgorithm(a: XfrmArgs, type: AlgoType, algos: Map<AlgoType, string>, r: XfrmStateRequest): void {
  const conflicts: Record<AlgoType, AlgoType[]> = {
    aead: ['enc', 'auth', 'auth-trunc', 'aead'],
    enc: ['enc', 'aead'],
    auth: ['auth', 'auth-trunc', 'aead'],
    'auth-trunc': ['auth', 'auth-trunc', 'aead'],
    comp: ['comp'],
  };
  if (conflicts[type].some((t) => algos.has(t))) throw duplicateValue('ALGO-TYPE', a.word);
  algos.set(type, a.word);
  if (!a.nextOk()) throw missingArgument('ALGO-NAME');
  a.next();
  const name = a.word;
  if (type === 'comp') {
    r.comp = { name };
    return;
  }
  if (!a.nextOk()) throw missingArgument('ALGO-KEYMAT');
  a.next();
  const keyText = a.word;
  let length = 0;
  if (type === 'aead' || type === 'auth-trunc') {
    const what = type === 'aead' ? 'ALGO-ICV-LEN' : 'ALGO-TRUNC-LEN';
    if (!a.nextOk()) throw missingArgument(what);
    a.next();
    const v = getU32(a.word);
    if (v === undefined) throw invalidArgument(`${what} value is invalid`, a.word);
    length = v;
  }
  const key = parseKey(keyText);
  if (type === 'aead') r.aead = { name, key, icvBits: length };
  else if (type === 'enc') r.enc = { name, key };
  else r.auth = { name, key, truncBits: length, trunc: type === 'auth-trunc' };
}

/** xfrm_state_get_or_delete: the ID (no `ID is required` check: the kernel answers) and a mark. */
function parseStateId(args: readonly string[], ctx: XfrmContext): XfrmStateId {
  const pc = parseContext(ctx);
  const a = new XfrmArgs(args);
  let idSeen: string | undefined;
  let id: XfrmId = emptyId(pc.family);
  let mark = { value: 0, mask: 0 };
  while (a.argc > 0) {
    if (a.word === 'mark') {
      mark = parseMark(a);
    } else {
      if (idSeen !== undefined) throw invalidArgument('unknown', a.word);
      idSeen = a.word;
      id = emptyId(pc.family);
      parseId(a, pc, id, false);
    }
    a.advance();
  }
  // The mark goes to the kernel only when value & mask is not 0; it looks up with value & mask.
  return { dst: id.dst, spi: id.spi, proto: id.proto, mark: (mark.value & mark.mask) >>> 0 };
}

/** What `list` and `deleteall` filter on (xfrm_state_filter_match). */
export interface StateFilter {
  id: XfrmId;
  mode?: number;
  reqid?: number;
  flags?: number;
  nokeys: boolean;
}

function parseStateFilter(args: readonly string[], ctx: XfrmContext): StateFilter {
  const pc = parseContext(ctx);
  const a = new XfrmArgs(args);
  const filter: StateFilter = { id: emptyId(pc.family), nokeys: false };
  let idSeen: string | undefined;
  while (a.argc > 0) {
    const w = a.word;
    if (w === 'nokeys') {
      filter.nokeys = true;
    } else if (w === 'mode') {
      a.next();
      filter.mode = parseMode(a.word);
    } else if (w === 'reqid') {
      a.next();
      const v = getU32(a.word);
      if (v === undefined) throw invalidArgument('REQID value is invalid', a.word);
      filter.reqid = v;
    } else if (w === 'flag') {
      a.next();
      filter.flags = parseFlags(a, STATE_FLAGS, 'FLAG value is invalid', 'u8');
    } else {
      if (idSeen !== undefined) throw invalidArgument('unknown', w);
      idSeen = w;
      parseId(a, pc, filter.id, true);
      if (pc.family === AF_UNSPEC) pc.family = filter.id.family;
    }
    a.advance();
  }
  return filter;
}

export function stateMatches(x: XfrmStateInfo, f: StateFilter): boolean {
  return (
    prefixMatches(x.src, f.id.src, f.id.srcMask) &&
    prefixMatches(x.dst, f.id.dst, f.id.dstMask) &&
    (!f.id.hasProto || x.proto === f.id.proto) &&
    (!f.id.hasSpi || x.spi === f.id.spi) &&
    (f.mode === undefined || x.mode === f.mode) &&
    (f.reqid === undefined || x.reqid === f.reqid) &&
    (f.flags === undefined || (x.flags & f.flags) !== 0)
  );
}

/** `burrow xfrm state ARGS...` (do_xfrm_state). */
export async function runXfrmState(args: readonly string[], ctx: XfrmContext): Promise<string> {
  if (args.length === 0) return list([], ctx, false);
  const [command, ...rest] = args as [string, ...string[]];
  if (matches(command, 'add')) {
    const state = parseStateAdd(rest, ctx);
    await ctx.request({ op: 'xfrm.state.add', state });
    return '';
  }
  if (matches(command, 'update')) {
    parseStateAdd(rest, ctx);
    throw notImplemented('ip xfrm state update is not supported: delete the state and add it again');
  }
  if (matches(command, 'allocspi')) throw notImplemented('ip xfrm state allocspi is not supported: choose the SPI in state add');
  if (matches(command, 'delete')) {
    await ctx.request({ op: 'xfrm.state.del', id: parseStateId(rest, ctx) });
    return '';
  }
  if (matches(command, 'deleteall') || matches(command, 'delall')) return list(rest, ctx, true);
  if (matches(command, 'list') || matches(command, 'show') || matches(command, 'lst')) return list(rest, ctx, false);
  if (matches(command, 'get')) {
    const state = await ctx.request({ op: 'xfrm.state.get', id: parseStateId(rest, ctx) });
    return formatStates([state], ctx.print, false);
  }
  if (matches(command, 'flush')) {
    const proto = parseFlushOption(rest, 'proto', (word) => {
      const p = xfrmProtoByName(word);
      if (p === undefined) throw invalidArgument('XFRM-PROTO value is invalid', word);
      return p;
    });
    await ctx.request({ op: 'xfrm.state.flush', proto });
    return '';
  }
  if (matches(command, 'count')) return formatStateCount(await ctx.request({ op: 'xfrm.state.count' }), ctx.print);
  if (matches(command, 'help')) throw usage(XFRM_STATE_USAGE);
  throw plainError(`Command "${command}" is unknown, try "${PROGRAM} xfrm state help".`, 255);
}

/** xfrm_state_list_or_deleteall. */
async function list(args: readonly string[], ctx: XfrmContext, deleteAll: boolean): Promise<string> {
  const filter = parseStateFilter(args, ctx);
  const states = (await ctx.request({ op: 'xfrm.state.list' })).filter((x) => stateMatches(x, filter));
  if (!deleteAll) return formatStates(states, ctx.print, filter.nokeys);
  for (const x of states) {
    await ctx.request({ op: 'xfrm.state.del', id: { dst: x.dst, spi: x.spi, proto: x.proto, mark: x.mark.value } });
  }
  return '';
}
