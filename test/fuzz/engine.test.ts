/**
 * The packet engine end to end on memory ports (engine-rig.ts), on the same structure-aware inputs as
 * tunnel.test.ts: what goes in is accounted for exactly.
 *
 * - Receive: every outer packet that reaches a receive socket is written into a device or dropped under
 *   one reason, charged to a tunnel or to the daemon; each tunnel's counters equal what its device got
 *   plus what it dropped; ICMP errors go out only for no-tunnel drops, within the rate limit.
 * - Transmit: every packet a device hands the engine leaves as one outer packet or is dropped under
 *   one reason; tx counters equal what left; ICMP errors come back only for too-big drops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { internetChecksum } from '../../src/wire/checksum.js';
import { DROP_REASONS, type DropReason } from '../../src/tunnel/drop.js';
import type { UnderlayProtocol } from '../../src/engine/engine.js';
import { tunnelOverhead } from '../../src/tunnel/tunnel.js';
import { budget } from './budget.js';
import { EngineRig, total } from './engine-rig.js';
import {
  deviceJunk,
  innerFor,
  ipv4Inner,
  ipv6Inner,
  mostly,
  outerInput,
  PROTOCOL,
  receiverParams,
  receivers,
  RIGHT,
  senderParams,
  settings,
  LEFT,
} from './tunnel-gen.js';

const fuzz = budget('engine', 200);

/** Puts fragments back together (by ID, addresses and protocol), independently of wire/; whole packets pass. */
function reassemble(packets: Buffer[]): Buffer[] {
  const whole: Buffer[] = [];
  const pending = new Map<string, Buffer[]>();
  for (const p of packets) {
    const word = p.readUInt16BE(6);
    if ((word & 0x3fff) === 0) {
      whole.push(p);
      continue;
    }
    const key = `${p.readUInt16BE(4)}/${p.readUInt32BE(12)}/${p.readUInt32BE(16)}/${p[9]}`;
    const list = pending.get(key) ?? [];
    list.push(p);
    pending.set(key, list);
    if (word & 0x2000) continue;
    // The last fragment: join them in offset order (fragments arrive in order here).
    const header = list[0].subarray(0, 20);
    const body = Buffer.concat(list.map((f) => f.subarray(20)));
    const joined = Buffer.concat([header, body]);
    joined.writeUInt16BE(joined.length, 2);
    joined.writeUInt16BE(0, 6);
    joined.writeUInt16BE(0, 10);
    joined.writeUInt16BE(internetChecksum(joined, 0, 20), 10);
    whole.push(joined);
    pending.delete(key);
  }
  assert.equal(pending.size, 0, 'no datagram left incomplete');
  return whole;
}

/** What `ip -s` would show for a tunnel's drops: the counters its reasons move. */
function expectedCounter(drops: ReadonlyMap<DropReason, number>, counter: string): number {
  let n = 0;
  for (const [reason, count] of drops) if ((DROP_REASONS[reason].counters as readonly string[]).includes(counter)) n += count;
  return n;
}

test('fuzz: engine receive: arrived = delivered + drops by reason, per tunnel and in total; ICMP only within limits', async () => {
  await fuzz.checkAsync(
    fc.asyncProperty(
      receivers.chain((rx) => fc.tuple(fc.constant(rx), fc.array(outerInput(rx), { minLength: 1, maxLength: 40 }))),
      fc.array(mostly(false, true), { minLength: 4, maxLength: 4 }),
      async ([rx, inputs], deviceDown) => {
        const rig = new EngineRig();
        try {
          rx.forEach((r, i) => {
            const d = rig.add(receiverParams(r.s, `rx${i}`, r.local, r.remote), r.up);
            if (deviceDown[i]) d.engineSide.setUp(false);
          });
          // Only protocols some tunnel uses have a socket (the kernel answers the others itself).
          const open = new Set(rig.devices.map((d) => PROTOCOL[d.tunnel.params.mode as 'ipip']));
          const arriving = inputs.filter((i) => open.has(PROTOCOL[i.mode]));
          for (const { mode, packet } of arriving) rig.arrive(PROTOCOL[mode] as UnderlayProtocol, [packet]);
          await rig.settle();
          fuzz.add(arriving.length);
          let delivered = 0;
          for (const d of rig.devices) {
            const got = rig.delivered(d);
            delivered += got.length;
            const s = d.tunnel.stats;
            assert.equal(s.rxPackets, got.length, `${d.tunnel.name}: rx_packets`);
            assert.equal(s.rxBytes, got.reduce((n, p) => n + p.length, 0), `${d.tunnel.name}: rx_bytes`);
            for (const counter of ['rxErrors', 'rxDropped', 'rxCrcErrors', 'rxFrameErrors', 'rxFifoErrors', 'rxLengthErrors']) {
              assert.equal(s[counter as 'rxErrors'], expectedCounter(d.tunnel.drops, counter), `${d.tunnel.name}: ${counter}`);
            }
            for (const p of got) assert.ok(p[0] >> 4 === 4 || p[0] >> 4 === 6, 'only IP goes into a device');
          }
          const drops = rig.drops();
          assert.equal(delivered + total(drops), arriving.length, `arrived = delivered + dropped (${JSON.stringify(Object.fromEntries(drops))})`);
          const icmp = rig.sent(0);
          assert.ok(icmp.length <= (drops.get('no-tunnel') ?? 0), 'an ICMP error only for a packet no tunnel took');
          assert.ok(icmp.length <= 50, 'the global burst of the ICMP rate limit');
          for (const p of icmp) {
            assert.deepEqual([p[9], p[20], p[21]], [1, 3, 3], 'port unreachable');
            assert.equal(internetChecksum(p, 0, 20), 0);
          }
        } finally {
          rig.close();
        }
      },
    ),
    { countsItself: true },
  );
});

test('fuzz: engine transmit: handed over = sent + drops by reason; what is sent is valid and fits the link', async () => {
  const sender = fc.record({
    s: settings,
    route: mostly<'ok' | 'no-route' | 'dead-loop'>('ok', 'no-route', 'dead-loop'),
    routeMtu: mostly(1500, 1280, 1300, 576, 68),
  });
  await fuzz.checkAsync(
    fc.asyncProperty(
      fc.array(sender, { minLength: 1, maxLength: 3 }).chain((tx) =>
        fc.tuple(
          fc.constant(tx),
          fc.array(
            fc.record({ pick: fc.nat(tx.length - 1), kind: fc.nat(9) }).chain(({ pick, kind }) =>
              (kind < 6 ? innerFor(tx[pick].s.mode) : kind < 8 ? fc.oneof(ipv4Inner, ipv6Inner) : deviceJunk).map((packet) => ({ pick, packet })),
            ),
            { minLength: 1, maxLength: 30 },
          ),
        ),
      ),
      async ([tx, inputs]) => {
        const rig = new EngineRig(1500);
        try {
          const devices = tx.map((t, i) => {
            const d = rig.add(senderParams(t.s, `tx${i}`, LEFT, RIGHT), true, t.routeMtu);
            d.tunnel.route = t.route;
            return d;
          });
          for (const { pick, packet } of inputs) rig.send(devices[pick], [packet]);
          await rig.settle();
          fuzz.add(inputs.length);
          const wire = rig.sent(0);
          const outer = reassemble(wire);
          let txPackets = 0;
          let dropped = 0;
          let tooBig = 0;
          let replies = 0;
          for (const d of devices) {
            txPackets += d.tunnel.stats.txPackets;
            dropped += total(d.tunnel.drops);
            tooBig += d.tunnel.drops.get('too-big') ?? 0;
            replies += rig.delivered(d).length;
            for (const counter of ['txErrors', 'txDropped', 'txCarrierErrors', 'collisions', 'txFifoErrors']) {
              assert.equal(d.tunnel.stats[counter as 'txErrors'], expectedCounter(d.tunnel.drops, counter), `${d.tunnel.name}: ${counter}`);
            }
          }
          assert.equal(txPackets + dropped, inputs.length, 'handed over = sent + dropped');
          assert.equal(outer.length, txPackets, 'one outer packet (maybe in fragments) per packet sent');
          for (const f of wire) {
            const d = devices.find((x) => PROTOCOL[x.tunnel.params.mode as 'ipip'] === f[9]);
            assert.ok(d && f.length <= Math.max(d.tunnel.routeMtu, 1500), 'fits the route');
            if (f.readUInt16BE(6) & 0x3fff) assert.ok(f.length <= d.tunnel.routeMtu, 'a fragment fits the route MTU');
          }
          assert.ok(replies <= tooBig, 'ICMP back to the device only for too-big drops');
          const bytes = devices.reduce((n, d) => n + d.tunnel.stats.txBytes, 0);
          let expectedBytes = 0;
          for (const p of outer) {
            assert.equal(internetChecksum(p, 0, 20), 0);
            assert.equal(p.readUInt16BE(2), p.length);
            assert.equal(p.readUInt32BE(16), RIGHT);
            const d = devices.find((x) => PROTOCOL[x.tunnel.params.mode as 'ipip'] === p[9]);
            assert.ok(d);
            expectedBytes += p.length - tunnelOverhead(d.tunnel.params);
          }
          // Tunnels of one protocol share a header size only when their GRE flags agree; check when they do.
          if (new Set(devices.map((d) => `${PROTOCOL[d.tunnel.params.mode as 'ipip']}/${tunnelOverhead(d.tunnel.params)}`)).size === new Set(devices.map((d) => d.tunnel.params.mode)).size) {
            assert.equal(bytes, expectedBytes, 'tx_bytes = inner bytes sent');
          }
        } finally {
          rig.close();
        }
      },
    ),
    { countsItself: true },
  );
});
