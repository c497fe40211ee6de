/**
 * The daemon's IPsec states and policies: the requests of `burrow xfrm state|policy`, applied to the
 * database the engine's vti devices use (src/xfrm/database.ts), and kept in the state file.
 *
 * The state file holds the keys (it is root's alone, in /run); nothing else the daemon writes does:
 * its log names states by addresses and SPI. Every change is saved before it is acknowledged, and so
 * is each new block of outbound sequence numbers before it is used (XfrmDatabase.onReserve), so that a
 * daemon started after a SIGKILL never sends a sequence number (an AES-GCM IV) twice under one key.
 * A daemon that stops cleanly saves the counters as they stand.
 */
import type { XfrmRequest, XfrmStateId } from '../control/protocol.js';
import { BurrowError } from '../errors.js';
import type { PolicyQuery, SavedXfrm, XfrmDatabase } from '../xfrm/database.js';
import type { XfrmPolicyInfo } from '../xfrm/policy.js';
import { isMark, isPolicyRequest, isSelector, isStateRequest } from '../xfrm/shape.js';
import type { XfrmStateInfo } from '../xfrm/state.js';
import type { Logger } from './log.js';
import { saveState, type DaemonState } from './state.js';

const DIRS = ['in', 'out', 'fwd'];

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function dotted(a: number): string {
  return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
}

function malformed(what: string): BurrowError {
  return new BurrowError('EINVAL', `malformed ${what}`);
}

export class XfrmService {
  constructor(
    private readonly db: XfrmDatabase,
    private readonly stateFile: string,
    private readonly state: DaemonState,
    private readonly log: Logger,
  ) {
    db.onReserve = () => this.save(false);
  }

  /** Answers one `xfrm.*` request of the control protocol. */
  handle(request: XfrmRequest): unknown {
    switch (request.op) {
      case 'xfrm.state.add':
        return this.addState(request.state);
      case 'xfrm.state.del':
        return this.deleteState(request.id);
      case 'xfrm.state.get':
        return this.getState(request.id);
      case 'xfrm.state.list':
        return this.listStates();
      case 'xfrm.state.flush':
        return this.flushStates(request.proto);
      case 'xfrm.state.count':
        return this.countStates();
      case 'xfrm.policy.add':
        return this.addPolicy(request.policy);
      case 'xfrm.policy.del':
        return this.deletePolicy(request.query);
      case 'xfrm.policy.get':
        return this.getPolicy(request.query);
      case 'xfrm.policy.list':
        return this.listPolicies();
      case 'xfrm.policy.flush':
        return this.flushPolicies(request.ptype);
      case 'xfrm.policy.count':
        return this.countPolicies();
    }
  }

  addState(request: unknown): void {
    if (!isStateRequest(request)) throw malformed('xfrm state');
    const x = this.db.addState(request);
    this.save(false);
    this.log.info(`added xfrm state src ${dotted(x.src)} dst ${dotted(x.dst)} spi ${hex(x.spi)}`);
  }

  deleteState(id: unknown): void {
    const x = this.db.deleteState(...this.stateId(id));
    this.save(false);
    this.log.info(`deleted xfrm state dst ${dotted(x.dst)} spi ${hex(x.spi)}`);
  }

  getState(id: unknown): XfrmStateInfo {
    return this.db.getState(...this.stateId(id)).info();
  }

  listStates(): XfrmStateInfo[] {
    return this.db.stateList().map((x) => x.info());
  }

  flushStates(proto: unknown): void {
    const n = this.db.flushStates(Number(proto) >>> 0);
    this.save(false);
    if (n > 0) this.log.info(`flushed ${n} xfrm state(s)`);
  }

  countStates(): ReturnType<XfrmDatabase['stateCount']> {
    return this.db.stateCount();
  }

  addPolicy(request: unknown): void {
    if (!isPolicyRequest(request)) throw malformed('xfrm policy');
    const p = this.db.addPolicy(request);
    this.save(false);
    this.log.info(`added xfrm policy dir ${DIRS[p.dir]} index ${p.index}`);
  }

  deletePolicy(query: unknown): void {
    const p = this.db.deletePolicy(this.policyQuery(query));
    this.save(false);
    this.log.info(`deleted xfrm policy dir ${DIRS[p.dir]} index ${p.index}`);
  }

  getPolicy(query: unknown): XfrmPolicyInfo {
    return this.db.getPolicy(this.policyQuery(query)).info();
  }

  listPolicies(): XfrmPolicyInfo[] {
    return this.db.policyList().map((p) => p.info());
  }

  flushPolicies(ptype: unknown): void {
    const n = this.db.flushPolicies(Number(ptype) >>> 0);
    this.save(false);
    if (n > 0) this.log.info(`flushed ${n} xfrm policies`);
  }

  countPolicies(): ReturnType<XfrmDatabase['policyCount']> {
    return this.db.policyCount();
  }

  /** Takes over the states and policies of the state file. */
  adopt(saved: SavedXfrm | undefined): void {
    if (saved === undefined) return;
    this.db.restore(saved, (what, error) => this.log.error(`could not adopt xfrm ${what}: ${error.message}`));
    const n = this.db.stateList().length + this.db.policyList().length;
    if (n > 0) this.log.info(`adopted ${this.db.stateList().length} xfrm state(s) and ${this.db.policyList().length} policies`);
    this.save(false);
  }

  /** `daemon stop --flush`: nothing is left to adopt. */
  flush(): void {
    this.db.flushStates(0);
    this.db.flushPolicies(0);
    this.db.flushPolicies(1);
    this.save(true);
  }

  get empty(): boolean {
    return this.db.stateList().length === 0 && this.db.policyList().length === 0;
  }

  /** `exact`: the daemon is stopping, so the counters are saved as they stand (see XfrmDatabase.saved). */
  save(exact: boolean): void {
    this.state.xfrm = this.db.saved(exact);
    saveState(this.stateFile, this.state);
  }

  private stateId(value: unknown): [number, number, number, number] {
    const id = value as Partial<XfrmStateId> | null;
    const fields = [id?.dst, id?.spi, id?.proto, id?.mark];
    if (!fields.every((f) => typeof f === 'number')) throw malformed('xfrm state id');
    return fields.map((f) => (f as number) >>> 0) as [number, number, number, number];
  }

  private policyQuery(value: unknown): PolicyQuery {
    const q = value as Partial<PolicyQuery> | null;
    if (typeof q?.dir !== 'number' || typeof q.ptype !== 'number' || !isMark(q.mark)) throw malformed('xfrm policy query');
    if (q.sel !== undefined && !isSelector(q.sel)) throw malformed('xfrm policy query');
    if (q.index !== undefined && typeof q.index !== 'number') throw malformed('xfrm policy query');
    return { dir: q.dir, ptype: q.ptype, mark: q.mark, ...(q.sel ? { sel: q.sel } : {}), ...(q.index !== undefined ? { index: q.index >>> 0 } : {}) };
  }
}
