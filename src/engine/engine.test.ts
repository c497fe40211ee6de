import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryPort } from '../io/memory.js';
import { errnoName } from '../io/native/index.js';
import { PacketBatch, type PacketPort } from '../io/port.js';
import { ip, ipv4Echo, upTunnel } from '../tunnel/test-helpers.js';
import { TunnelTable } from '../tunnel/table.js';
import { Engine } from './engine.js';

/** One ipip tunnel on memory ports; the underlay refuses packets over `underlayMtu` with EMSGSIZE. */
function setup(underlayMtu: number) {
  const table = new TunnelTable();
  const t = upTunnel({ name: 'vpn0', mode: 'ipip', local: ip('192.168.0.1'), remote: ip('192.168.100.1'), ttl: 64 });
  table.add(t);
  const [device, app] = MemoryPort.pair(['vpn0', 'app']);
  const [sender, wire] = MemoryPort.pair(['raw', 'wire'], { mtu: underlayMtu });
  const receivers: PacketPort[] = [];
  const engine = new Engine(
    table,
    {
      openReceiver: () => {
        const [r] = MemoryPort.pair(['rx', 'unused']);
        receivers.push(r);
        return r;
      },
      openSender: () => sender,
      now: () => 0,
    },
    errnoName,
  );
  engine.attach(t, device);
  return { t, engine, app, wire };
}

function write(port: MemoryPort, packet: { bytes: Buffer; start: number; length: number }): void {
  const batch = PacketBatch.forWriting(1);
  batch.data = packet.bytes;
  batch.push(packet.start, packet.length);
  assert.equal(port.writeBatch(batch), 1);
}

async function readAll(port: MemoryPort): Promise<Buffer[]> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  const batch = new PacketBatch(8, 2048, 0);
  const n = port.readBatch(batch);
  return Array.from({ length: n }, (_, i) => Buffer.from(batch.data.subarray(batch.offsets[i], batch.offsets[i] + batch.lengths[i])));
}

test('a send refused with EMSGSIZE: the route is looked up again and the sender gets frag-needed with the path MTU', async () => {
  const { t, engine, app, wire } = setup(1400);
  let lookups = 0;
  // What the daemon does: the kernel's route to the remote now has a path MTU of 1400.
  engine.onRouteStale((tunnel) => {
    lookups++;
    tunnel.routeMtu = 1400;
  });
  write(app, ipv4Echo('10.0.0.1', '10.0.0.2', { payload: 1452 }));
  const back = await readAll(app);
  assert.equal(lookups, 1);
  assert.equal(back.length, 1, 'one ICMP back into the device');
  assert.deepEqual([back[0][20], back[0][21]], [3, 4], 'frag-needed');
  assert.equal(back[0].readUInt16BE(26), 1380, 'path MTU less the tunnel overhead');
  assert.deepEqual(Object.fromEntries(t.drops), { 'too-big': 1 });
  assert.equal(t.stats.txErrors, 1);
  assert.equal(t.stats.txPackets, 0);
  assert.equal(wire.queued, 0, 'nothing went out');

  // The next one is refused before it is sent, as the kernel's tunnel refuses it.
  write(app, ipv4Echo('10.0.0.1', '10.0.0.2', { payload: 1452 }));
  assert.equal((await readAll(app)).length, 1);
  assert.equal(lookups, 1, 'the tunnel knows the MTU now');
  assert.deepEqual(Object.fromEntries(t.drops), { 'too-big': 2 });
  engine.close();
});

test('a send refused with EMSGSIZE that still fits after the lookup is a failed send, with no ICMP', async () => {
  const { t, engine, app } = setup(100);
  engine.onRouteStale(() => {});
  write(app, ipv4Echo('10.0.0.1', '10.0.0.2'));
  assert.equal((await readAll(app)).length, 0);
  assert.deepEqual(Object.fromEntries(t.drops), { 'tx-send-failed': 1 });
  engine.close();
});
