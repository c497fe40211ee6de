/**
 * One IPsec state (security association) of the database: what `ip xfrm state add` asked for, checked as
 * the kernel checks it (xfrm_user.c verify_newsa_info, xfrm_state_construct) within what burrow does
 * (ESP, tunnel mode, IPv4, a legacy replay window of at most 32), with the ESP transform that runs it.
 *
 * Requests and answers cross the control socket and the state file as plain JSON: keys are hex
 * strings there, and only there. Marks are stored as the kernel stores them, value &= mask.
 */
import { resolveAlgorithms, type ResolvedAlgorithms, type StateAlgorithms } from './algorithms.js';
import { kernelRefusal, unsupported } from './refusal.js';
import { SecurityAssociation, type SaStats } from './sa.js';
import { AF_INET, AF_INET6, AF_UNSPEC, emptySelector, type Selector } from './selector.js';

export const XFRM_MODE_TRANSPORT = 0;
export const XFRM_MODE_TUNNEL = 1;
export const XFRM_MODE_ROUTEOPTIMIZATION = 2;
export const XFRM_MODE_IN_TRIGGER = 3;
export const XFRM_MODE_BEET = 4;

export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_COMP = 108;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_DSTOPTS = 60;
/** `ipsec-any`: what `flush` and templates accept for "any IPsec protocol". */
export const IPSEC_PROTO_ANY = 255;

/** The legacy replay bitmap's size; larger windows need the ESN bitmap burrow does not implement. */
export const MAX_REPLAY_WINDOW = 32;

export interface XfrmMark {
  value: number;
  mask: number;
}

/** `ip xfrm state add`'s request: xfrm_usersa_info and its attributes (addresses host order, keys hex). */
export interface XfrmStateRequest {
  family: number;
  src: number;
  dst: number;
  proto: number;
  spi: number;
  mode: number;
  reqid: number;
  /** The message sequence field (`seq`), kept and listed, as the kernel does. */
  seq: number;
  replayWindow: number;
  replaySeq: number;
  replayOseq: number;
  replaySeqHi: number;
  replayOseqHi: number;
  flags: number;
  extraFlags: number;
  /** {0, 0} when no mark was given. */
  mark: XfrmMark;
  aead?: { name: string; key: string; icvBits: number };
  enc?: { name: string; key: string };
  auth?: { name: string; key: string; truncBits: number; trunc: boolean };
  comp?: { name: string };
  sel: Selector;
  /** Keywords iproute2 takes that burrow does not implement (limit, encap, ctx, if_id, ...), as given. */
  unsupported: string[];
}

/** What `ip xfrm state add` sends before its arguments fill it in. */
export function emptyStateRequest(family: number): XfrmStateRequest {
  return {
    family,
    src: 0,
    dst: 0,
    proto: 0,
    spi: 0,
    mode: 0,
    reqid: 0,
    seq: 0,
    replayWindow: 0,
    replaySeq: 0,
    replayOseq: 0,
    replaySeqHi: 0,
    replayOseqHi: 0,
    flags: 0,
    extraFlags: 0,
    mark: { value: 0, mask: 0 },
    sel: emptySelector(),
    unsupported: [],
  };
}

/** A state as `list` and `get` show it (keys included: `ip xfrm state` prints them; `-j` leaves them out). */
export type XfrmStateInfo = Pick<
  XfrmStateRequest,
  'src' | 'dst' | 'proto' | 'spi' | 'mode' | 'reqid' | 'seq' | 'replayWindow' | 'flags' | 'mark' | 'aead' | 'enc' | 'sel'
> & {
  auth?: { name: string; key: string; truncBits: number };
  replay: { seq: number; oseq: number; bitmap: number };
  stats: { replayWindow: number; replay: number; integrityFailed: number };
  lifetime: { bytes: number; packets: number; addTime: number; useTime: number };
  /** Last time a packet came in through the state (seconds), 0 if never. */
  lastUsed: number;
};

/** What survives a daemon restart: the request and the counters. */
export interface SavedXfrmState {
  request: XfrmStateRequest;
  replay: { seq: number; oseq: number; bitmap: number };
  stats: SaStats;
  addTime: number;
  useTime: number;
  lastUsed: number;
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function normaliseMark(mark: XfrmMark): XfrmMark {
  return { value: (mark.value & mark.mask) >>> 0, mask: mark.mask >>> 0 };
}

/** Whether a lookup with `mark` finds something carrying `stored` (xfrm_state_lookup: (mark & m) == v). */
export function markMatches(mark: number, stored: XfrmMark): boolean {
  return ((mark & stored.mask) >>> 0) === stored.value;
}

/**
 * verify_newsa_info's checks for what iproute2 can send, then burrow's limits. Throws the refusal.
 * (Algorithms are checked by resolveAlgorithms, in the kernel's order, after these.)
 */
function verify(r: XfrmStateRequest): void {
  if (r.family === AF_INET6) throw unsupported('an IPv6 state', `burrow's tunnels are IPv4`);
  if (r.family !== AF_INET && r.family !== AF_UNSPEC) throw kernelRefusal('EINVAL');
  if (r.sel.family === AF_INET6) throw unsupported('an IPv6 selector');
  if (r.proto !== IPPROTO_ESP) {
    if (r.proto === IPPROTO_AH || r.proto === IPPROTO_COMP) throw unsupported(`proto ${r.proto === IPPROTO_AH ? 'ah' : 'comp'}`, `burrow's IPsec is ESP`);
    throw unsupported(`proto ${r.proto === IPPROTO_ROUTING ? 'route2' : 'hao'}`, 'Mobile IPv6');
  }
  if (r.aead === undefined && r.enc === undefined) throw kernelRefusal('EINVAL');
  if (r.aead !== undefined && (r.enc !== undefined || r.auth !== undefined)) throw kernelRefusal('EINVAL');
  if (r.mode > XFRM_MODE_BEET) throw kernelRefusal('EINVAL');
  if (r.mode !== XFRM_MODE_TUNNEL) throw unsupported(`mode ${r.mode === XFRM_MODE_TRANSPORT ? 'transport' : 'beet'}`, `vti uses tunnel mode`);
  if (r.flags !== 0) throw unsupported('a state flag');
  if (r.extraFlags !== 0) throw unsupported('extra-flag');
  if (r.replayWindow > MAX_REPLAY_WINDOW) throw unsupported(`replay-window ${r.replayWindow}`, `burrow's window is at most ${MAX_REPLAY_WINDOW} packets`);
  if (r.replaySeqHi !== 0 || r.replayOseqHi !== 0) throw unsupported('an extended sequence number (replay-seq-hi, replay-oseq-hi)');
  if (r.sel.ifindex !== 0) throw unsupported('a selector with dev');
  if (r.unsupported.length > 0) throw unsupported(r.unsupported[0]!);
}

export class XfrmState {
  readonly request: XfrmStateRequest;
  readonly src: number;
  readonly dst: number;
  readonly spi: number;
  readonly proto: number;
  readonly mode: number;
  readonly reqid: number;
  readonly mark: XfrmMark;
  readonly sel: Selector;
  readonly algorithms: ResolvedAlgorithms;
  readonly sa: SecurityAssociation;
  /** Seconds: when added, first used (0: never), last received through (0: never). */
  addTime: number;
  useTime = 0;
  lastUsed = 0;
  /** Outbound sequence numbers up to here are promised to the state file (see XfrmDatabase.reserve). */
  reservedOseq = 0;

  /** Checks the request as the kernel would and builds the state; throws the refusal. */
  constructor(request: XfrmStateRequest, now: number) {
    verify(request);
    const algorithms: StateAlgorithms = {};
    if (request.aead) algorithms.aead = { ...request.aead, key: hexBytes(request.aead.key) };
    if (request.enc) algorithms.enc = { ...request.enc, key: hexBytes(request.enc.key) };
    if (request.auth) algorithms.auth = { ...request.auth, key: hexBytes(request.auth.key) };
    if (request.comp) algorithms.comp = request.comp;
    this.algorithms = resolveAlgorithms(algorithms);
    this.request = request;
    ({ src: this.src, dst: this.dst, spi: this.spi, proto: this.proto, mode: this.mode, reqid: this.reqid } = request);
    this.mark = normaliseMark(request.mark);
    // xfrm_state_construct: a selector nobody set takes the state's family.
    this.sel = { ...request.sel, family: request.sel.family === AF_UNSPEC ? AF_INET : request.sel.family };
    this.sa = new SecurityAssociation({ spi: request.spi, transform: this.algorithms.transform, replayWindow: request.replayWindow });
    this.sa.inboundSequence = request.replaySeq >>> 0;
    this.sa.outboundSequence = request.replayOseq >>> 0;
    this.addTime = now;
  }

  /** xfrm_state_mtu for ESP in tunnel mode: the largest inner packet that fits an outer MTU. */
  innerMtu(outerMtu: number): number {
    const sa = this.sa;
    const headerLength = 20 + sa.headerLength;
    const block = Math.max(sa.blockSize, 4);
    return ((outerMtu - headerLength - sa.icvLength) & ~(block - 1)) - 2;
  }

  info(): XfrmStateInfo {
    const r = this.request;
    const a = this.algorithms;
    const s = this.sa.stats;
    return {
      src: r.src,
      dst: r.dst,
      proto: r.proto,
      spi: r.spi,
      mode: r.mode,
      reqid: r.reqid,
      seq: r.seq,
      replayWindow: r.replayWindow,
      flags: r.flags,
      mark: this.mark,
      ...(a.aead ? { aead: { name: a.aead.name, key: r.aead!.key, icvBits: a.aead.icvBits } } : {}),
      ...(a.auth ? { auth: { name: a.auth.name, key: r.auth!.key, truncBits: a.auth.truncBits } } : {}),
      ...(a.enc ? { enc: { name: a.enc.name, key: r.enc!.key } } : {}),
      sel: this.sel,
      replay: { seq: this.sa.inboundSequence, oseq: this.sa.outboundSequence, bitmap: this.sa.bitmap },
      stats: { replayWindow: s.replayWindow, replay: s.replay, integrityFailed: s.integrityFailed },
      lifetime: { bytes: s.bytes, packets: s.packets, addTime: this.addTime, useTime: this.useTime },
      lastUsed: this.lastUsed,
    };
  }

  /** The state file's entry; `oseq` is what the next daemon may start from (at least what was sent). */
  saved(oseq: number): SavedXfrmState {
    return {
      request: this.request,
      replay: { seq: this.sa.inboundSequence, oseq, bitmap: this.sa.bitmap },
      stats: { ...this.sa.stats },
      addTime: this.addTime,
      useTime: this.useTime,
      lastUsed: this.lastUsed,
    };
  }

  /** A state from the state file, with its counters. Throws if the request no longer passes. */
  static restore(saved: SavedXfrmState): XfrmState {
    const x = new XfrmState(saved.request, saved.addTime);
    x.sa.inboundSequence = saved.replay.seq >>> 0;
    // A file written past 2^32 (before reservations stopped at 0xffffffff) means used up, not wrapped.
    x.sa.outboundSequence = Math.min(saved.replay.oseq, 0xffffffff) >>> 0;
    x.sa.bitmap = saved.replay.bitmap >>> 0;
    Object.assign(x.sa.stats, saved.stats);
    x.useTime = saved.useTime;
    x.lastUsed = saved.lastUsed;
    x.reservedOseq = x.sa.outboundSequence;
    return x;
  }
}
