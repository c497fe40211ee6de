/**
 * Two engines joined by in-memory ports, without root (wireguard-go's genTestPair): host A's underlay
 * sender is host B's receiver and back, and each tunnel device is a port pair whose far end the test
 * (or a benchmark) writes inner packets into and reads delivered ones from.
 *
 *   app A <-> [device] engine A [sender] ---> [receiver] engine B [device] <-> app B
 *                                [receiver] <--- [sender]
 */
import { MemoryPort } from '../io/memory.js';
import { errnoName } from '../io/native/index.js';
import type { TunnelParams } from '../tunnel/params.js';
import { TunnelTable } from '../tunnel/table.js';
import { Tunnel } from '../tunnel/tunnel.js';
import type { XfrmDatabase } from '../xfrm/database.js';
import { Engine, type UnderlayProtocol } from './engine.js';

export interface EngineSide {
  engine: Engine;
  table: TunnelTable;
  /** The end of each tunnel's device that the host's stack would hold. */
  apps: Map<string, MemoryPort>;
  tunnels: Map<string, Tunnel>;
}

export interface EnginePair {
  a: EngineSide;
  b: EngineSide;
  /** Attaches a tunnel on one side: up, its outer route usable with `routeMtu`. */
  attach(side: EngineSide, params: TunnelParams, routeMtu?: number): Tunnel;
  close(): void;
}

/** One underlay protocol between the two (ESP for vti, 4 for ipip, ...). */
export function enginePair(protocol: UnderlayProtocol, xfrm: { a?: XfrmDatabase; b?: XfrmDatabase } = {}): EnginePair {
  const [aSend, bReceive] = MemoryPort.pair(['a-send', 'b-receive'], { queueLimit: 1 << 16 });
  const [bSend, aReceive] = MemoryPort.pair(['b-send', 'a-receive'], { queueLimit: 1 << 16 });
  const side = (send: MemoryPort, receive: MemoryPort, db: XfrmDatabase | undefined): EngineSide => {
    const table = new TunnelTable();
    const io = {
      openReceiver: (p: UnderlayProtocol) => {
        if (p !== protocol) throw new RangeError(`this pair carries protocol ${protocol} only`);
        return receive;
      },
      openSender: () => send,
      now: () => performance.now(),
    };
    return { engine: new Engine(table, io, errnoName, ...(db ? [db] : [])), table, apps: new Map(), tunnels: new Map() };
  };
  const a = side(aSend, aReceive, xfrm.a);
  const b = side(bSend, bReceive, xfrm.b);
  let ifindex = 10;
  return {
    a,
    b,
    attach(s, params, routeMtu = 1500) {
      const t = new Tunnel(params);
      t.up = true;
      t.ifindex = ifindex++;
      t.routeMtu = routeMtu;
      const [device, app] = MemoryPort.pair([`${params.name}-dev`, `${params.name}-app`], { queueLimit: 1 << 16 });
      s.table.add(t);
      s.engine.attach(t, device);
      s.apps.set(params.name, app);
      s.tunnels.set(params.name, t);
      return t;
    },
    close() {
      for (const s of [a, b]) {
        s.engine.close();
        for (const app of s.apps.values()) app.close();
      }
    },
  };
}
