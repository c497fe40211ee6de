/**
 * ESP through the engine, not a test: inner packets written into one vti device come out of the other
 * host's vti device, through the transmit loop (policy, state, seal, outer header), memory ports as the
 * wire, and the receive loop (state by SPI, replay window, open, inbound policy). Both engines run in
 * this one process, so each packet is encrypted and decrypted on the same core: the figure is a
 * one-way flow with both ends' work, i.e. half of what one host doing one side of it would reach.
 * ipip over the same harness is the baseline without cryptography.
 *
 *   npx tsc -p . && node dist/bench/esp-engine.js [packets=40000]
 */
import { enginePair, type EngineSide } from '../src/engine/test-helpers.js';
import { PacketBatch } from '../src/io/port.js';
import { GRE_KEY, VTI_ISVTI, defaultTunnelParams, type TunnelParams } from '../src/tunnel/params.js';
import { XfrmDatabase } from '../src/xfrm/database.js';
import { mark, policyRequest, stateRequest, template } from '../src/xfrm/test-helpers.js';

const total = Number(process.argv[2] ?? '40000');
const A = '192.168.1.10';
const B = '192.168.2.20';
const addr = (s: string) => s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);

function ipsec(db: XfrmDatabase, local: string, remote: string, out: number, inn: number, cbc: boolean): void {
  db.addState(stateRequest(local, remote, out, { cbc, mark: mark(42) }));
  db.addState(stateRequest(remote, local, inn, { cbc, mark: mark(42), replayWindow: 32 }));
  db.addPolicy(policyRequest('out', { mark: mark(42), tmpls: [template(local, remote)] }));
  db.addPolicy(policyRequest('in', { mark: mark(42), tmpls: [template(remote, local)] }));
}

/** An IPv4 UDP packet of `size` bytes from 10.0.0.1 to 10.0.0.2 (checksums are not the point here). */
function inner(size: number): Buffer {
  const p = Buffer.alloc(size, 0x5a);
  p[0] = 0x45;
  p.writeUInt16BE(size, 2);
  p.writeUInt16BE(0x4000, 6);
  p[8] = 64;
  p[9] = 17;
  p.writeUInt32BE(addr('10.0.0.1'), 12);
  p.writeUInt32BE(addr('10.0.0.2'), 16);
  return p;
}

async function run(name: string, protocol: 4 | 50, params: (local: string, remote: string) => TunnelParams, cbc: boolean | null, size: number): Promise<void> {
  const dbs = { a: new XfrmDatabase(() => 0), b: new XfrmDatabase(() => 0) };
  if (cbc !== null) {
    ipsec(dbs.a, A, B, 0x100, 0x200, cbc);
    ipsec(dbs.b, B, A, 0x200, 0x100, cbc);
  }
  const pair = enginePair(protocol, dbs);
  pair.attach(pair.a, params(A, B));
  pair.attach(pair.b, params(B, A));
  const from = pair.a.apps.get('t')!;
  const to = pair.b.apps.get('t')!;
  const out = new PacketBatch(64, 2048, 0);
  const packet = inner(size);
  for (let i = 0; i < 64; i++) {
    packet.copy(out.data, out.slotStart(i));
    out.push(out.slotStart(i), size);
  }
  const sink = new PacketBatch(64, 2048, 0);
  let sent = 0;
  let got = 0;
  const start = performance.now();
  while (got < total) {
    if (sent - got < 1024 && sent < total) sent += from.writeBatch(out);
    await new Promise((r) => setImmediate(r));
    for (let n = to.readBatch(sink); n > 0; n = to.readBatch(sink)) got += n;
  }
  const seconds = (performance.now() - start) / 1000;
  const pps = got / seconds;
  process.stdout.write(
    `${name.padEnd(28)} ${String(size).padStart(5)} B  ${Math.round(pps).toString().padStart(7)} pkt/s  ${((pps * size * 8) / 1e6).toFixed(0).padStart(5)} Mbit/s (inner)\n`,
  );
  pair.close();
}

const vti = (local: string, remote: string): TunnelParams => ({
  ...defaultTunnelParams(),
  name: 't',
  mode: 'vti',
  local: addr(local),
  remote: addr(remote),
  iflags: VTI_ISVTI,
  oflags: GRE_KEY,
  ikey: 42,
  okey: 42,
});
const ipip = (local: string, remote: string): TunnelParams => ({ ...defaultTunnelParams(), name: 't', mode: 'ipip', local: addr(local), remote: addr(remote), ttl: 64 });

for (const size of [64, 1400]) {
  await run('ipip (no cryptography)', 4, ipip, null, size);
  await run('vti rfc4106(gcm(aes)) 128', 50, vti, false, size);
  await run('vti cbc(aes)+hmac(sha256)', 50, vti, true, size);
}
