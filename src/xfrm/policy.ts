/**
 * One IPsec policy of the database: a selector, a direction, an action, a priority and the templates a
 * packet's transforms must match, checked as the kernel checks `ip xfrm policy add`
 * (xfrm_user.c verify_newpolicy_info, validate_tmpl) within what burrow does: IPv4, main policies, at
 * most one ESP tunnel-mode template (vti's single transform).
 */
import { kernelRefusal, unsupported } from './refusal.js';
import { AF_INET, AF_INET6, AF_UNSPEC, emptySelector, type Selector } from './selector.js';
import {
  IPPROTO_AH,
  IPPROTO_COMP,
  IPPROTO_DSTOPTS,
  IPPROTO_ESP,
  IPPROTO_ROUTING,
  IPSEC_PROTO_ANY,
  XFRM_MODE_BEET,
  XFRM_MODE_TUNNEL,
  normaliseMark,
  type XfrmMark,
} from './state.js';

export const XFRM_POLICY_IN = 0;
export const XFRM_POLICY_OUT = 1;
export const XFRM_POLICY_FWD = 2;
export const XFRM_POLICY_ALLOW = 0;
export const XFRM_POLICY_BLOCK = 1;
export const XFRM_POLICY_TYPE_MAIN = 0;
export const XFRM_POLICY_TYPE_SUB = 1;

/** struct xfrm_user_tmpl as iproute2 fills it (it sets every algorithm mask, so all algorithms are allowed). */
export interface XfrmTemplate {
  family: number;
  src: number;
  dst: number;
  proto: number;
  spi: number;
  mode: number;
  reqid: number;
  /** `level use`. */
  optional: boolean;
}

export interface XfrmPolicyRequest {
  sel: Selector;
  dir: number;
  /** 0: the kernel chooses. */
  index: number;
  priority: number;
  action: number;
  ptype: number;
  flags: number;
  /** {0, 0} when none was given. */
  mark: XfrmMark;
  tmpls: XfrmTemplate[];
  /** Keywords iproute2 takes that burrow does not implement (ctx, if_id, limit), as given. */
  unsupported: string[];
}

/** What `ip xfrm policy add` sends before its arguments fill it in (AF_INET when nothing says otherwise). */
export function emptyPolicyRequest(family: number): XfrmPolicyRequest {
  return {
    sel: { ...emptySelector(), family },
    dir: 0,
    index: 0,
    priority: 0,
    action: 0,
    ptype: 0,
    flags: 0,
    mark: { value: 0, mask: 0 },
    tmpls: [],
    unsupported: [],
  };
}

/** A policy as `list` and `get` show it. */
export type XfrmPolicyInfo = Omit<XfrmPolicyRequest, 'unsupported'> & { lifetime: { addTime: number; useTime: number } };

export interface SavedXfrmPolicy {
  request: XfrmPolicyRequest;
  index: number;
  addTime: number;
  useTime: number;
}

function validProto(proto: number): boolean {
  return [IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPSEC_PROTO_ANY].includes(proto);
}

/** verify_newpolicy_info and validate_tmpl for what iproute2 can send, then burrow's limits. */
function verify(r: XfrmPolicyRequest): void {
  if (r.sel.family === AF_INET6) throw unsupported('an IPv6 policy', `burrow's tunnels are IPv4`);
  if (r.dir > XFRM_POLICY_FWD) throw kernelRefusal('EINVAL');
  if (r.index !== 0 && (r.index & 7) !== r.dir) throw kernelRefusal('EINVAL', "Policy index doesn't match direction");
  for (const t of r.tmpls) {
    if (t.mode > XFRM_MODE_BEET) throw kernelRefusal('EINVAL');
    if (!validProto(t.proto)) throw kernelRefusal('EINVAL');
  }
  if (r.ptype === XFRM_POLICY_TYPE_SUB) throw unsupported('ptype sub');
  if (r.flags !== 0) throw unsupported('a policy flag');
  if (r.sel.ifindex !== 0) throw unsupported('a selector with dev');
  if (r.unsupported.length > 0) throw unsupported(r.unsupported[0]!);
  if (r.tmpls.length > 1) throw unsupported('more than one tmpl', `vti carries one ESP transform`);
  for (const t of r.tmpls) {
    if (t.family === AF_INET6) throw unsupported('an IPv6 tmpl');
    if (t.proto !== IPPROTO_ESP) throw unsupported(`tmpl proto ${t.proto === IPPROTO_AH ? 'ah' : t.proto === IPPROTO_COMP ? 'comp' : t.proto}`, `burrow's IPsec is ESP`);
    if (t.mode !== XFRM_MODE_TUNNEL) throw unsupported(`tmpl mode ${['transport', 'tunnel', 'ro', 'in_trigger', 'beet'][t.mode] ?? t.mode}`, 'vti uses tunnel mode');
  }
}

export class XfrmPolicy {
  readonly request: XfrmPolicyRequest;
  readonly dir: number;
  readonly priority: number;
  readonly action: number;
  readonly ptype: number;
  readonly tmpls: readonly XfrmTemplate[];
  readonly sel: Selector;
  readonly mark: XfrmMark;
  index = 0;
  /** Insertion order: among equal priorities the oldest policy wins the lookup. */
  position = 0;
  addTime: number;
  useTime = 0;

  constructor(request: XfrmPolicyRequest, now: number) {
    verify(request);
    this.request = request;
    ({ dir: this.dir, priority: this.priority, action: this.action, ptype: this.ptype, tmpls: this.tmpls } = request);
    this.sel = { ...request.sel, family: request.sel.family === AF_UNSPEC ? AF_INET : request.sel.family };
    // xfrm_policy_construct keeps value & mask (a mask of 0 means no mark).
    this.mark = request.mark.mask !== 0 ? normaliseMark(request.mark) : request.mark;
    this.addTime = now;
  }

  info(): XfrmPolicyInfo {
    const r = this.request;
    return {
      sel: this.sel,
      dir: r.dir,
      index: this.index,
      priority: r.priority,
      action: r.action,
      ptype: r.ptype,
      flags: r.flags,
      mark: this.mark,
      // validate_tmpl: a template without an address family takes the policy's.
      tmpls: r.tmpls.map((t) => ({ ...t, family: t.family === AF_UNSPEC ? this.sel.family : t.family })),
      lifetime: { addTime: this.addTime, useTime: this.useTime },
    };
  }

  saved(): SavedXfrmPolicy {
    return { request: this.request, index: this.index, addTime: this.addTime, useTime: this.useTime };
  }
}
