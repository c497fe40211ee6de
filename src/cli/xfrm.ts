/**
 * `burrow xfrm { state | policy | monitor | help }` (ip/ipxfrm.c do_xfrm): the IPsec states and policies
 * burrow's vti devices use. They live in burrow's daemon, not in the kernel (`ip xfrm` configures the
 * kernel's own, which burrow does not read).
 *
 * A refusal from the daemon prints as iproute2 prints the kernel's (`Error: TEXT.` or `RTNETLINK
 * answers: STRERROR`, exit 2), or, for a configuration burrow does not implement, as burrow's message.
 */
import type { TunnelClient } from '../control/client.js';
import type { Request, ResultOf } from '../control/protocol.js';
import { BurrowError } from '../errors.js';
import { refusalText } from '../xfrm/refusal.js';
import { matches } from './argv.js';
import type { LinkTable } from './links.js';
import type { GlobalOptions } from './options.js';
import type { ProtocolTable } from './protocols.js';
import { runXfrmPolicy } from './xfrm-policy.js';
import { localTime, type XfrmPrintOptions } from './xfrm-print.js';
import { runXfrmState } from './xfrm-state.js';
import { XFRM_MONITOR_USAGE, XFRM_USAGE, notImplemented, usage, xfrmRefused } from './usage-errors.js';

export interface XfrmContext {
  options: GlobalOptions;
  links: LinkTable;
  protocols: ProtocolTable;
  print: XfrmPrintOptions;
  /** One request to the daemon; a refusal comes back as the UsageError to print. */
  request<K extends Request['op']>(request: Extract<Request, { op: K }>): Promise<ResultOf[K]>;
}

export interface XfrmDeps {
  options: GlobalOptions;
  links: LinkTable;
  protocols: ProtocolTable;
  /** The daemon; throws a UsageError ('daemon') when it cannot be reached. */
  client(): Promise<TunnelClient>;
  /** strxf_time; local time by default. */
  time?: (seconds: number) => string;
}

export function xfrmContext(deps: XfrmDeps): XfrmContext {
  const { options } = deps;
  return {
    options,
    links: deps.links,
    protocols: deps.protocols,
    print: {
      stats: options.stats,
      oneline: options.oneline,
      json: options.json,
      pretty: options.pretty,
      links: deps.links,
      protocols: deps.protocols,
      time: deps.time ?? localTime,
    },
    async request(request) {
      const client = await deps.client();
      try {
        return await client.request(request);
      } catch (error) {
        if (!(error instanceof BurrowError)) throw error;
        const r = refusalText(error);
        throw xfrmRefused(r.kind, r.text);
      }
    },
  };
}

/** `burrow xfrm ARGS...`: stdout text, or a thrown UsageError. */
export async function runXfrmCommand(args: readonly string[], deps: XfrmDeps): Promise<string> {
  const ctx = xfrmContext(deps);
  const [object, ...rest] = args;
  if (object === undefined) throw usage(XFRM_USAGE);
  if (matches(object, 'state') || matches(object, 'sa')) return runXfrmState(rest, ctx);
  if (matches(object, 'policy')) return runXfrmPolicy(rest, ctx);
  if (matches(object, 'monitor')) {
    if (rest[0] !== undefined && matches(rest[0], 'help')) throw usage(XFRM_MONITOR_USAGE);
    throw notImplemented('ip xfrm monitor is not supported');
  }
  throw usage(XFRM_USAGE);
}
