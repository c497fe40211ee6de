/**
 * An in-memory stand-in for the daemon, for tests of the command line.
 *
 * It records every request and answers from a plain table of tunnels. It applies only the obvious rules
 * (names are unique, a missing name is ENODEV); the kernel's real rules belong to the daemon. A test can
 * make any operation fail with an errno through `failures`.
 */
import type { TunnelClient } from '../control/client.js';
import type { Request, ResultOf, TunnelInfo } from '../control/protocol.js';
import { BurrowError, type ErrnoName } from '../errors.js';
import { emptyStats } from '../tunnel/stats.js';
import { defaultTunnelParams, type TunnelMode, type TunnelParams } from '../tunnel/params.js';
import type { ShownTunnel } from './print.js';

const KIND_OF_MODE: Record<TunnelMode, string> = { ipip: 'ipip', gre: 'gre', sit: 'sit', isatap: 'sit', vti: 'vti' };

export class FakeClient implements TunnelClient {
  readonly requests: Request[] = [];
  readonly tunnels = new Map<string, ShownTunnel>();
  /** Operations that fail, with the errno they fail with. */
  readonly failures = new Map<Request['op'], ErrnoName>();
  private nextIndex = 10;

  constructor(tunnels: ShownTunnel[] = []) {
    for (const t of tunnels) {
      this.tunnels.set(t.params.name, t);
      this.nextIndex = Math.max(this.nextIndex, t.ifindex + 1);
    }
  }

  /** A tunnel as the daemon would report it: `params` over defaults, zero counters. */
  static tunnel(params: Partial<TunnelParams> & { name: string; mode: TunnelMode }, ifindex = 10): ShownTunnel {
    return {
      params: { ...defaultTunnelParams(), ...params },
      ifindex,
      stats: emptyStats(),
      drops: {},
    };
  }

  async request<K extends Request['op']>(request: Extract<Request, { op: K }>): Promise<ResultOf[K]> {
    this.requests.push(request);
    const failure = this.failures.get(request.op);
    if (failure !== undefined) throw new BurrowError(failure);
    return this.answer(request as Request) as ResultOf[K];
  }

  private answer(request: Request): unknown {
    switch (request.op) {
      case 'tunnel.add': {
        let name = request.params.name;
        if (name === '') {
          const kind = KIND_OF_MODE[request.params.mode];
          for (let i = 0; this.tunnels.has((name = `${kind}${i}`)); i++);
        }
        if (this.tunnels.has(name)) throw new BurrowError('EEXIST');
        const tunnel: TunnelInfo = { params: { ...request.params, name }, ifindex: this.nextIndex++, stats: emptyStats(), drops: {} };
        this.tunnels.set(name, tunnel);
        return null;
      }
      case 'tunnel.change': {
        const tunnel = this.tunnels.get(request.name);
        if (tunnel === undefined) throw new BurrowError(request.name === '' ? 'ENOENT' : 'ENODEV');
        tunnel.params = { ...request.params, name: request.name };
        return null;
      }
      case 'tunnel.del': {
        if (!this.tunnels.delete(request.name)) throw new BurrowError(request.name === '' ? 'ENOENT' : 'ENODEV');
        return null;
      }
      case 'tunnel.get': {
        const tunnel = this.tunnels.get(request.name);
        if (tunnel === undefined) throw new BurrowError('ENODEV');
        return tunnel;
      }
      case 'tunnel.list':
        return [...this.tunnels.values()];
      case 'tunnel.6rd':
      case 'tunnel.prl':
        // Recorded; the kernel's rules for them are the daemon's (tunnel/sixrd.ts, tunnel/isatap.ts).
        if (!this.tunnels.has(request.name)) throw new BurrowError('ENODEV');
        return null;
      default:
        throw new BurrowError('EINVAL', `the fake daemon does not answer ${request.op}`);
    }
  }
}
