/**
 * Shape checks for xfrm requests that come from another process (the control socket) or the state
 * file: the types are the contract, these make sure a value has them before any rule runs.
 */
import type { XfrmPolicyRequest, XfrmTemplate } from './policy.js';
import type { Selector } from './selector.js';
import type { XfrmMark, XfrmStateRequest } from './state.js';

type Fields = Record<string, unknown>;

function isObject(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null;
}

/** Unsigned 32-bit integers. */
function numbers(o: Fields, keys: readonly string[]): boolean {
  return keys.every((k) => typeof o[k] === 'number' && Number.isInteger(o[k]) && (o[k] as number) >= 0 && (o[k] as number) <= 0xffffffff);
}

const HEX = /^([0-9a-f]{2})*$/;

function algorithm(v: unknown, numeric: readonly string[], keyed: boolean): boolean {
  if (v === undefined) return true;
  if (!isObject(v) || typeof v.name !== 'string' || !numbers(v, numeric)) return false;
  return !keyed || (typeof v.key === 'string' && HEX.test(v.key));
}

export function isMark(v: unknown): v is XfrmMark {
  return isObject(v) && numbers(v, ['value', 'mask']);
}

export function isSelector(v: unknown): v is Selector {
  return isObject(v) && numbers(v, ['family', 'src', 'srcLength', 'dst', 'dstLength', 'proto', 'sport', 'sportMask', 'dport', 'dportMask', 'ifindex']);
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

export function isStateRequest(v: unknown): v is XfrmStateRequest {
  if (!isObject(v)) return false;
  const scalar = ['family', 'src', 'dst', 'proto', 'spi', 'mode', 'reqid', 'seq', 'replayWindow', 'replaySeq', 'replayOseq', 'replaySeqHi', 'replayOseqHi', 'flags', 'extraFlags'];
  return (
    numbers(v, scalar) &&
    isMark(v.mark) &&
    isSelector(v.sel) &&
    isStrings(v.unsupported) &&
    algorithm(v.aead, ['icvBits'], true) &&
    algorithm(v.enc, [], true) &&
    algorithm(v.auth, ['truncBits'], true) &&
    (v.auth === undefined || typeof (v.auth as Fields).trunc === 'boolean') &&
    algorithm(v.comp, [], false)
  );
}

function isTemplate(v: unknown): v is XfrmTemplate {
  return isObject(v) && numbers(v, ['family', 'src', 'dst', 'proto', 'spi', 'mode', 'reqid']) && typeof v.optional === 'boolean';
}

export function isPolicyRequest(v: unknown): v is XfrmPolicyRequest {
  if (!isObject(v)) return false;
  return (
    numbers(v, ['dir', 'index', 'priority', 'action', 'ptype', 'flags']) &&
    isSelector(v.sel) &&
    isMark(v.mark) &&
    Array.isArray(v.tmpls) &&
    v.tmpls.every(isTemplate) &&
    isStrings(v.unsupported)
  );
}
