/**
 * `burrow xfrm policy {add|update|delete|deleteall|list|get|flush|count|set|setdefault|getdefault|help}`:
 * ip/xfrm_policy.c's grammar and iproute2 6.1's messages, for the daemon's IPsec policies.
 */
import type { PolicyQuery } from '../xfrm/database.js';
import { emptyPolicyRequest, type XfrmPolicyInfo, type XfrmPolicyRequest, type XfrmTemplate } from '../xfrm/policy.js';
import { AF_INET, AF_UNSPEC, emptySelector, type Selector } from '../xfrm/selector.js';
import { matches } from './argv.js';
import {
  XfrmArgs,
  emptyId,
  getU32,
  once,
  parseFlags,
  parseFlushOption,
  parseId,
  parseLimit,
  parseMark,
  parseMode,
  parseSelector,
  prefixMatches,
  type SelectorSeen,
  type XfrmParseContext,
} from './xfrm-args.js';
import type { XfrmContext } from './xfrm.js';
import { formatPolicies, formatPolicyCount } from './xfrm-print.js';
import { PROGRAM, XFRM_POLICY_USAGE, duplicateArgument, invalidArgument, missingArgument, notImplemented, plainError, usage } from './usage-errors.js';

const POLICY_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['localok', 1],
  ['icmp', 2],
];

function parseContext(ctx: XfrmContext): XfrmParseContext {
  return { family: ctx.options.family, links: ctx.links, protocols: ctx.protocols };
}

function dir(word: string): number {
  const d = ['in', 'out', 'fwd'].indexOf(word);
  if (d < 0) throw invalidArgument('DIR value is invalid', word);
  return d;
}

function ptype(word: string): number {
  const t = ['main', 'sub'].indexOf(word);
  if (t < 0) throw invalidArgument('PTYPE value is invalid', word);
  return t;
}

function action(word: string): number {
  const t = ['allow', 'block'].indexOf(word);
  if (t < 0) throw invalidArgument('ACTION value is invalid\n', word);
  return t;
}

function u32(a: XfrmArgs, message: string): number {
  a.next();
  const v = getU32(a.word);
  if (v === undefined) throw invalidArgument(message, a.word);
  return v;
}

/** xfrm_tmpl_parse (the cursor on the word after `tmpl`). */
function parseTemplate(a: XfrmArgs, pc: XfrmParseContext): XfrmTemplate {
  const start = a.position;
  const id = emptyId(pc.family);
  const t: XfrmTemplate = { family: pc.family, src: 0, dst: 0, proto: 0, spi: 0, mode: 0, reqid: 0, optional: false };
  let idSeen = false;
  for (;;) {
    const w = a.word;
    if (w === 'mode') {
      a.next();
      t.mode = parseMode(a.word);
    } else if (w === 'reqid') {
      t.reqid = u32(a, 'REQID value is invalid');
    } else if (w === 'level') {
      a.next();
      if (a.word === 'required') t.optional = false;
      else if (a.word === 'use') t.optional = true;
      else throw invalidArgument('LEVEL value is invalid\n', a.word);
    } else {
      if (idSeen) {
        a.prev();
        break;
      }
      idSeen = true;
      parseId(a, { ...pc, family: AF_UNSPEC }, id, false);
      pc.family = id.family;
    }
    if (!a.nextOk()) break;
    a.next();
  }
  if (a.position === start) throw missingArgument('TMPL');
  return { ...t, family: id.family, src: id.src, dst: id.dst, proto: id.proto, spi: id.spi };
}

/** xfrm_policy_modify: the request `add` sends. */
export function parsePolicyAdd(args: readonly string[], ctx: XfrmContext): XfrmPolicyRequest {
  const pc = parseContext(ctx);
  const a = new XfrmArgs(args);
  const r = emptyPolicyRequest(pc.family);
  let dirSeen: string | undefined;
  let ctxSeen: string | undefined;
  let ptypeSeen: string | undefined;
  let selSeen: string | undefined;
  const extra = (word: string) => {
    if (!r.unsupported.includes(word)) r.unsupported.push(word);
  };
  while (a.argc > 0) {
    const w = a.word;
    if (w === 'dir') {
      dirSeen = once(dirSeen, 'dir', w);
      a.next();
      r.dir = dir(a.word);
    } else if (w === 'ctx') {
      ctxSeen = once(ctxSeen, 'ctx', w);
      a.next();
      extra('ctx');
    } else if (w === 'mark') {
      r.mark = parseMark(a);
    } else if (w === 'index') {
      r.index = u32(a, 'INDEX value is invalid');
    } else if (w === 'ptype') {
      ptypeSeen = once(ptypeSeen, 'ptype', w);
      a.next();
      r.ptype = ptype(a.word);
    } else if (w === 'action') {
      a.next();
      r.action = action(a.word);
    } else if (w === 'priority') {
      r.priority = u32(a, 'PRIORITY value is invalid');
    } else if (w === 'flag') {
      a.next();
      r.flags = parseFlags(a, POLICY_FLAGS, 'FLAG value is invalid', 'u8');
    } else if (w === 'limit') {
      a.next();
      parseLimit(a);
      extra('limit');
    } else if (w === 'if_id') {
      u32(a, 'IF_ID value is invalid');
      extra('if_id');
    } else if (w === 'tmpl') {
      a.next();
      r.tmpls.push(parseTemplate(a, pc));
    } else {
      selSeen = once(selSeen, 'unknown', w);
      parseSelector(a, pc, r.sel);
      if (pc.family === AF_UNSPEC) pc.family = r.sel.family;
    }
    a.advance();
  }
  if (dirSeen === undefined) throw plainError('Not enough information: DIR is required.', 1);
  // xfrm_policy_modify sends a mark only when its mask is not 0, and AF_INET for a selector without a family.
  if (r.mark.mask === 0) r.mark = { value: 0, mask: 0 };
  if (r.sel.family === AF_UNSPEC) r.sel.family = AF_INET;
  return r;
}

/** xfrm_policy_get_or_delete's arguments. */
function parsePolicyQuery(args: readonly string[], ctx: XfrmContext): PolicyQuery {
  const pc = parseContext(ctx);
  const a = new XfrmArgs(args);
  const q = { dir: 0, ptype: 0, mark: { value: 0, mask: 0 } } as PolicyQuery;
  const sel: Selector = { ...emptySelector(), family: pc.family };
  let dirSeen: string | undefined;
  let ctxSeen: string | undefined;
  let ptypeSeen: string | undefined;
  let indexSeen: string | undefined;
  let selSeen: string | undefined;
  let index = 0;
  let unsupported: string | undefined;
  while (a.argc > 0) {
    const w = a.word;
    if (w === 'dir') {
      dirSeen = once(dirSeen, 'dir', w);
      a.next();
      q.dir = dir(a.word);
    } else if (w === 'ctx') {
      ctxSeen = once(ctxSeen, 'ctx', w);
      a.next();
      unsupported ??= 'ctx';
    } else if (w === 'mark') {
      q.mark = parseMark(a);
    } else if (w === 'index') {
      indexSeen = once(indexSeen, 'index', w);
      index = u32(a, 'INDEX value is invalid');
    } else if (w === 'ptype') {
      ptypeSeen = once(ptypeSeen, 'ptype', w);
      a.next();
      q.ptype = ptype(a.word);
    } else if (w === 'if_id') {
      u32(a, 'IF_ID value is invalid');
      unsupported ??= 'if_id';
    } else {
      if (selSeen !== undefined) throw invalidArgument('unknown', w);
      selSeen = w;
      parseSelector(a, pc, sel);
      if (pc.family === AF_UNSPEC) pc.family = sel.family;
    }
    a.advance();
  }
  if (dirSeen === undefined) throw plainError('Not enough information: DIR is required.', 1);
  if (selSeen === undefined && indexSeen === undefined) throw plainError('Not enough information: either SELECTOR or INDEX is required.', 1);
  if (selSeen !== undefined && indexSeen !== undefined) throw duplicateArgument('SELECTOR', 'INDEX');
  if (unsupported !== undefined) throw notImplemented(`${unsupported} is not supported in xfrm policies`);
  if (sel.family === AF_UNSPEC) sel.family = AF_INET;
  // The mark goes to the kernel only when value & mask is not 0; it is compared as given.
  if ((q.mark.value & q.mark.mask) === 0) q.mark = { value: 0, mask: 0 };
  return indexSeen !== undefined ? { ...q, index } : { ...q, sel };
}

/** What `list` and `deleteall` filter on (xfrm_policy_filter_match). */
interface PolicyFilter {
  sel: Selector;
  seen: SelectorSeen | null;
  dir?: number;
  index?: number;
  ptype?: number;
  action?: number;
  priority?: number;
  flags?: number;
}

function parsePolicyFilter(args: readonly string[], ctx: XfrmContext): PolicyFilter {
  const pc = parseContext(ctx);
  const a = new XfrmArgs(args);
  const f: PolicyFilter = { sel: { ...emptySelector(), family: pc.family }, seen: null };
  let selSeen: string | undefined;
  while (a.argc > 0) {
    const w = a.word;
    if (w === 'nosock') {
      // burrow has no socket policies to leave out.
    } else if (w === 'dir') {
      a.next();
      f.dir = dir(a.word);
    } else if (w === 'index') {
      f.index = u32(a, 'INDEX value is invalid');
    } else if (w === 'ptype') {
      a.next();
      f.ptype = ptype(a.word);
    } else if (w === 'action') {
      a.next();
      f.action = action(a.word);
    } else if (w === 'priority') {
      f.priority = u32(a, 'PRIORITY value is invalid');
    } else if (w === 'flag') {
      a.next();
      f.flags = parseFlags(a, POLICY_FLAGS, 'FLAG value is invalid', 'u8');
    } else {
      if (selSeen !== undefined) throw invalidArgument('unknown', w);
      selSeen = w;
      f.seen = parseSelector(a, pc, f.sel);
      if (pc.family === AF_UNSPEC) pc.family = f.sel.family;
    }
    a.advance();
  }
  return f;
}

function policyMatches(p: XfrmPolicyInfo, f: PolicyFilter): boolean {
  const s = f.seen;
  return (
    (f.dir === undefined || p.dir === f.dir) &&
    (f.ptype === undefined || p.ptype === f.ptype) &&
    (s === null ||
      (prefixMatches(p.sel.src, f.sel.src, s.srcMask) &&
        prefixMatches(p.sel.dst, f.sel.dst, s.dstMask) &&
        (!s.dev || p.sel.ifindex === f.sel.ifindex) &&
        (!s.proto || p.sel.proto === f.sel.proto) &&
        (!s.sport || p.sel.sport === f.sel.sport) &&
        (!s.dport || p.sel.dport === f.sel.dport))) &&
    (f.index === undefined || p.index === f.index) &&
    (f.action === undefined || p.action === f.action) &&
    (f.priority === undefined || p.priority === f.priority) &&
    (f.flags === undefined || (p.flags & f.flags) !== 0)
  );
}

/** `burrow xfrm policy ARGS...` (do_xfrm_policy). */
export async function runXfrmPolicy(args: readonly string[], ctx: XfrmContext): Promise<string> {
  if (args.length === 0) return list([], ctx, false);
  const [command, ...rest] = args as [string, ...string[]];
  if (matches(command, 'add')) {
    await ctx.request({ op: 'xfrm.policy.add', policy: parsePolicyAdd(rest, ctx) });
    return '';
  }
  if (matches(command, 'update')) {
    parsePolicyAdd(rest, ctx);
    throw notImplemented('ip xfrm policy update is not supported: delete the policy and add it again');
  }
  if (matches(command, 'delete')) {
    await ctx.request({ op: 'xfrm.policy.del', query: parsePolicyQuery(rest, ctx) });
    return '';
  }
  if (matches(command, 'deleteall') || matches(command, 'delall')) return list(rest, ctx, true);
  if (matches(command, 'list') || matches(command, 'show') || matches(command, 'lst')) return list(rest, ctx, false);
  if (matches(command, 'get')) {
    const policy = await ctx.request({ op: 'xfrm.policy.get', query: parsePolicyQuery(rest, ctx) });
    return formatPolicies([policy], ctx.print);
  }
  if (matches(command, 'flush')) {
    await ctx.request({ op: 'xfrm.policy.flush', ptype: parseFlushOption(rest, 'ptype', ptype) });
    return '';
  }
  if (matches(command, 'count')) return formatPolicyCount(await ctx.request({ op: 'xfrm.policy.count' }), ctx.print);
  if (matches(command, 'set') || matches(command, 'setdefault')) {
    throw notImplemented(`ip xfrm policy ${matches(command, 'set') ? 'set' : 'setdefault'} is not supported`);
  }
  if (matches(command, 'getdefault')) return 'Default policies:\n in:  accept\n fwd: accept\n out: accept\n';
  if (matches(command, 'help')) throw usage(XFRM_POLICY_USAGE);
  throw plainError(`Command "${command}" is unknown, try "${PROGRAM} xfrm policy help".`, 255);
}

async function list(args: readonly string[], ctx: XfrmContext, deleteAll: boolean): Promise<string> {
  const filter = parsePolicyFilter(args, ctx);
  const policies = (await ctx.request({ op: 'xfrm.policy.list' })).filter((p) => policyMatches(p, filter));
  if (!deleteAll) return formatPolicies(policies, ctx.print);
  for (const p of policies) await ctx.request({ op: 'xfrm.policy.del', query: { dir: p.dir, ptype: p.ptype, mark: p.mark, index: p.index } });
  return '';
}
