/**
 * The IPsec state and policy databases (SAD and SPD) of one daemon, with the kernel's rules for what
 * vti needs (net/xfrm/xfrm_state.c, xfrm_policy.c, xfrm_user.c):
 *
 * - states are found by (destination, SPI, protocol) and a mark: a lookup with mark M finds a state
 *   whose (M & mask) == value; adding one that an existing state would answer is EEXIST; a state with
 *   SPI 0 is never found by SPI (the kernel keeps it out of its SPI hash);
 * - policies are the same policy when type, direction, selector and mark (value and mask, the value
 *   already ANDed with the mask) are equal; `get` and `delete` compare the mark as given; the index is
 *   the kernel's: a generator stepping by 8 with the direction in the low bits, or the one asked for;
 * - a packet's policy is the matching one of lowest priority, the oldest among equals; its template
 *   resolves to the newest valid state with the template's addresses, protocol, mode, reqid and SPI
 *   whose mark the policy's mark satisfies and whose selector the flow matches (xfrm_state_find);
 * - the inbound check (__xfrm_policy_check) runs the policy's templates against the state that
 *   decrypted the packet; a tunnel-mode packet that no policy covers is refused.
 *
 * Both lists are kept newest first, the order in which the kernel dumps them. Time comes from the
 * clock the daemon passes in (seconds since the epoch), for the `add` and `use` times `-s` shows.
 */
import { kernelRefusal } from './refusal.js';
import { selectorMatches, selectorsEqual, type Flow, type Selector } from './selector.js';
import {
  XfrmPolicy,
  XFRM_POLICY_ALLOW,
  XFRM_POLICY_FWD,
  XFRM_POLICY_IN,
  XFRM_POLICY_OUT,
  type SavedXfrmPolicy,
  type XfrmPolicyRequest,
  type XfrmTemplate,
} from './policy.js';
import {
  IPSEC_PROTO_ANY,
  IPPROTO_AH,
  IPPROTO_COMP,
  IPPROTO_ESP,
  XFRM_MODE_TRANSPORT,
  XfrmState,
  markMatches,
  type SavedXfrmState,
  type XfrmMark,
  type XfrmStateRequest,
} from './state.js';

/** Outbound sequence numbers promised to the state file at a time (a restarted daemon starts past them). */
export const OSEQ_RESERVATION = 1 << 16;

/**
 * The reservation past outbound sequence number `oseq`: at most 0xffffffff, the last number a state
 * without ESN has (a larger value would be read back modulo 2^32, and the numbers used again).
 */
function reservationAfter(oseq: number): number {
  return Math.min(oseq + OSEQ_RESERVATION, 0xffffffff);
}

/** The hash sizes the kernel reports with `count -s` (they only grow). */
const HASH_MAX = 1048576;

/** How `get` and `delete` name a policy: by selector or by index, with a direction, type and mark. */
export interface PolicyQuery {
  dir: number;
  ptype: number;
  mark: XfrmMark;
  sel?: Selector;
  index?: number;
}

export interface SavedXfrm {
  states: SavedXfrmState[];
  policies: SavedXfrmPolicy[];
  indexGenerator: number;
}

/** xfrm_id_proto_match: 0 matches any, ipsec-any the three IPsec protocols. */
function protoMatches(proto: number, wanted: number): boolean {
  return wanted === 0 || proto === wanted || (wanted === IPSEC_PROTO_ANY && (proto === IPPROTO_AH || proto === IPPROTO_ESP || proto === IPPROTO_COMP));
}

export class XfrmDatabase {
  private states: XfrmState[] = [];
  private policies: XfrmPolicy[] = [];
  private indexGenerator = 0;
  private positions = 0;
  private stateHashMask = 7;
  private policyIndexHashMask = 7;
  /**
   * Called (on the packet path) when a state's outbound sequence numbers pass what the state file
   * promises; the daemon saves, so that a daemon killed afterwards never reuses a sequence number
   * (and, with AES-GCM, an IV) under the same key.
   */
  onReserve: (() => void) | null = null;

  constructor(private readonly clock: () => number) {}

  // ----- states ----------------------------------------------------------------------------------

  /** `ip xfrm state add`: the kernel's checks, then EEXIST for a state a lookup would already find. */
  addState(request: XfrmStateRequest): XfrmState {
    const x = new XfrmState(request, this.clock());
    const mark = x.mark.value & x.mark.mask;
    if (this.lookupState(x.dst, x.spi, x.proto, mark) !== null) throw kernelRefusal('EEXIST');
    x.reservedOseq = reservationAfter(x.sa.outboundSequence);
    this.states.unshift(x);
    if (this.states.length > this.stateHashMask && this.stateHashMask + 1 < HASH_MAX) this.stateHashMask = this.stateHashMask * 2 + 1;
    return x;
  }

  /** xfrm_state_lookup: by destination, SPI and protocol, with a mark; SPI 0 is never found. */
  lookupState(dst: number, spi: number, proto: number, mark: number): XfrmState | null {
    if (spi === 0) return null;
    for (const x of this.states) {
      if (x.spi === spi && x.dst === dst && x.proto === proto && markMatches(mark, x.mark)) return x;
    }
    return null;
  }

  /**
   * `get`: ESRCH when there is none (the mark is value & mask of what was given). Without an ID there
   * is no protocol, and no source address for the kernel's lookup by address: EINVAL.
   */
  getState(dst: number, spi: number, proto: number, mark: number): XfrmState {
    if (proto === 0) throw kernelRefusal('EINVAL');
    const x = this.lookupState(dst, spi, proto, mark);
    if (x === null) throw kernelRefusal('ESRCH');
    return x;
  }

  deleteState(dst: number, spi: number, proto: number, mark: number): XfrmState {
    const x = this.getState(dst, spi, proto, mark);
    this.states.splice(this.states.indexOf(x), 1);
    return x;
  }

  /** `flush [proto P]` (0: every state). */
  flushStates(proto: number): number {
    const before = this.states.length;
    this.states = this.states.filter((x) => !protoMatches(x.proto, proto));
    return before - this.states.length;
  }

  stateList(): readonly XfrmState[] {
    return this.states;
  }

  /** `count`: the number of states and the size of the kernel's state hash. */
  stateCount(): { count: number; buckets: number; max: number } {
    return { count: this.states.length, buckets: this.stateHashMask + 1, max: HASH_MAX };
  }

  // ----- policies --------------------------------------------------------------------------------

  /** `ip xfrm policy add`: checks, EEXIST for the same policy, then an index (xfrm_gen_index). */
  addPolicy(request: XfrmPolicyRequest): XfrmPolicy {
    const p = new XfrmPolicy(request, this.clock());
    const same = this.policies.find(
      (q) => q.ptype === p.ptype && q.dir === p.dir && selectorsEqual(q.sel, p.sel) && q.mark.value === p.mark.value && q.mark.mask === p.mark.mask,
    );
    if (same !== undefined) throw kernelRefusal('EEXIST');
    p.index = this.generateIndex(p.dir, request.index);
    p.position = ++this.positions;
    this.policies.unshift(p);
    if (this.policies.length > this.policyIndexHashMask && this.policyIndexHashMask + 1 < HASH_MAX) {
      this.policyIndexHashMask = this.policyIndexHashMask * 2 + 1;
    }
    return p;
  }

  /** xfrm_gen_index: the index asked for when free, else the generator's next (stepping by 8, direction in the low bits). */
  private generateIndex(dir: number, wanted: number): number {
    let asked = wanted;
    for (;;) {
      let index: number;
      if (asked !== 0) {
        index = asked;
        asked = 0;
      } else {
        index = (this.indexGenerator | dir) >>> 0;
        this.indexGenerator = (this.indexGenerator + 8) >>> 0;
      }
      if (index === 0) index = 8;
      if (!this.policies.some((p) => p.index === index)) return index;
    }
  }

  /** xfrm_policy_byid / xfrm_policy_bysel_ctx: ENOENT when none matches (the mark must be equal as given). */
  getPolicy(query: PolicyQuery): XfrmPolicy {
    const found = this.policies.find(
      (p) =>
        p.ptype === query.ptype &&
        p.dir === query.dir &&
        p.mark.value === query.mark.value &&
        p.mark.mask === query.mark.mask &&
        (query.index !== undefined ? p.index === query.index : query.sel !== undefined && selectorsEqual(p.sel, query.sel)),
    );
    if (found === undefined) throw kernelRefusal('ENOENT');
    return found;
  }

  deletePolicy(query: PolicyQuery): XfrmPolicy {
    const p = this.getPolicy(query);
    this.policies.splice(this.policies.indexOf(p), 1);
    return p;
  }

  /** `flush [ptype P]`. */
  flushPolicies(ptype: number): number {
    const before = this.policies.length;
    this.policies = this.policies.filter((p) => p.ptype !== ptype);
    return before - this.policies.length;
  }

  policyList(): readonly XfrmPolicy[] {
    return this.policies;
  }

  /** `count`: policies per direction and the size of the kernel's index hash (its mask, as it reports it). */
  policyCount(): { in: number; out: number; fwd: number; buckets: number; max: number } {
    const count = (dir: number) => this.policies.filter((p) => p.dir === dir).length;
    return { in: count(XFRM_POLICY_IN), out: count(XFRM_POLICY_OUT), fwd: count(XFRM_POLICY_FWD), buckets: this.policyIndexHashMask, max: HASH_MAX };
  }

  // ----- the packet path -------------------------------------------------------------------------

  /** xfrm_policy_lookup: the main policy of `dir` for the flow and mark, lowest priority then oldest. */
  lookupPolicy(dir: number, flow: Flow, mark: number): XfrmPolicy | null {
    let best: XfrmPolicy | null = null;
    for (const p of this.policies) {
      if (p.dir !== dir || p.ptype !== 0 || !markMatches(mark, p.mark) || !selectorMatches(p.sel, flow)) continue;
      if (best === null || p.priority < best.priority || (p.priority === best.priority && p.position < best.position)) best = p;
    }
    if (best !== null) best.useTime = this.clock();
    return best;
  }

  /**
   * xfrm_state_find for one tunnel-mode template: `local` stands for the source address the kernel
   * would pick when the template has none. Null when no valid state fits (the kernel would ask a key
   * manager and, with larval_drop, drop the packet).
   */
  outboundState(policy: XfrmPolicy, tmpl: XfrmTemplate, flow: Flow, local: number): XfrmState | null {
    const daddr = tmpl.dst;
    const saddr = tmpl.src !== 0 ? tmpl.src : local;
    const mark = policy.mark.value & policy.mark.mask;
    for (const x of this.states) {
      if (
        x.reqid === tmpl.reqid &&
        markMatches(mark, x.mark) &&
        x.dst === daddr &&
        (x.src === saddr || saddr === 0 || x.src === 0) &&
        x.mode === tmpl.mode &&
        x.proto === tmpl.proto &&
        (tmpl.spi === 0 || tmpl.spi === x.spi) &&
        selectorMatches(x.sel, flow)
      ) {
        return x;
      }
    }
    return null;
  }

  /**
   * __xfrm_policy_check for a packet that came in through `x` (null: not through IPsec) with this
   * flow and mark: the state's selector, then the inbound policy and its templates.
   */
  checkInbound(flow: Flow, mark: number, x: XfrmState | null): boolean {
    if (x !== null && !selectorMatches(x.sel, flow)) return false;
    const policy = this.lookupPolicy(XFRM_POLICY_IN, flow, mark);
    const tunnelled = x !== null && x.mode !== XFRM_MODE_TRANSPORT;
    if (policy === null) return !tunnelled;
    if (policy.action !== XFRM_POLICY_ALLOW) return false;
    const tmpls = policy.tmpls;
    let k = 0;
    for (let i = tmpls.length - 1; i >= 0; i--) {
      k = templateOk(tmpls[i]!, x, k);
      if (k < 0) return false;
    }
    // secpath_has_nontransport: a tunnel-mode state no template accounted for.
    return !(tunnelled && k === 0);
  }

  /**
   * Called after each packet sealed with `x`: promise the next block of sequence numbers to the
   * state file before any of them is used.
   */
  sealed(x: XfrmState): void {
    if (x.useTime === 0) x.useTime = this.clock();
    if (x.sa.outboundSequence < x.reservedOseq) return;
    x.reservedOseq = reservationAfter(x.sa.outboundSequence);
    this.onReserve?.();
  }

  /** After a packet came in through `x`. */
  opened(x: XfrmState): void {
    const now = this.clock();
    if (x.useTime === 0) x.useTime = now;
    x.lastUsed = now;
  }

  now(): number {
    return this.clock();
  }

  // ----- persistence -----------------------------------------------------------------------------

  /**
   * What the state file keeps. `exact`: the sequence numbers as they stand (a daemon stopping);
   * otherwise the reserved ones, which a daemon killed at any moment has not passed.
   */
  saved(exact: boolean): SavedXfrm {
    return {
      states: this.states.map((x) => x.saved(exact ? x.sa.outboundSequence : Math.max(x.reservedOseq, x.sa.outboundSequence))),
      policies: this.policies.map((p) => p.saved()),
      indexGenerator: this.indexGenerator,
    };
  }

  /** Takes over the states and policies of a state file; one that no longer passes is skipped and reported. */
  restore(saved: SavedXfrm, report: (what: string, error: Error) => void): void {
    for (const s of [...saved.states].reverse()) {
      try {
        const x = XfrmState.restore(s);
        x.reservedOseq = reservationAfter(x.sa.outboundSequence);
        this.states.unshift(x);
      } catch (error) {
        report(`state spi 0x${(s.request?.spi >>> 0).toString(16)}`, error as Error);
      }
    }
    for (const s of [...saved.policies].reverse()) {
      try {
        const p = new XfrmPolicy(s.request, s.addTime);
        p.index = s.index;
        p.useTime = s.useTime;
        p.position = ++this.positions;
        this.policies.unshift(p);
      } catch (error) {
        report(`policy index ${s.index}`, error as Error);
      }
    }
    this.indexGenerator = saved.indexGenerator >>> 0;
    while (this.states.length > this.stateHashMask && this.stateHashMask + 1 < HASH_MAX) this.stateHashMask = this.stateHashMask * 2 + 1;
    while (this.policies.length > this.policyIndexHashMask && this.policyIndexHashMask + 1 < HASH_MAX) {
      this.policyIndexHashMask = this.policyIndexHashMask * 2 + 1;
    }
  }
}

/**
 * xfrm_policy_ok for a secpath of at most one state: the index after the state the template accounts
 * for, `start` when an optional template is skipped, or negative when a required one is missing.
 */
function templateOk(tmpl: XfrmTemplate, x: XfrmState | null, start: number): number {
  let next = start;
  if (tmpl.optional) {
    if (tmpl.mode === XFRM_MODE_TRANSPORT) return start;
  } else {
    next = -1;
  }
  if (x !== null && start === 0) {
    if (stateOk(tmpl, x)) return 1;
    if (x.mode !== XFRM_MODE_TRANSPORT && next === -1) next = -2;
  }
  return next;
}

/** xfrm_state_ok: protocol, SPI and reqid (0: any), mode, and the template's source for tunnel mode. */
function stateOk(tmpl: XfrmTemplate, x: XfrmState): boolean {
  return (
    x.proto === tmpl.proto &&
    (tmpl.spi === 0 || x.spi === tmpl.spi) &&
    (tmpl.reqid === 0 || x.reqid === tmpl.reqid) &&
    x.mode === tmpl.mode &&
    !(x.mode !== XFRM_MODE_TRANSPORT && tmpl.src !== 0 && tmpl.src !== x.src)
  );
}
