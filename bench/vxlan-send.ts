/**
 * How vxlan should send (not a test): packets per second for 1500-byte outer packets (1464-byte inner
 * frames), batches of 64, from namespace A to a UDP socket on port 4789 in namespace B over a veth.
 *
 *   npx tsc -p . && node dist/bench/vxlan-send.js [seconds=3]      (root: it makes two namespaces)
 *
 * raw + encap        burrow's way: a raw IPPROTO_RAW socket; per packet the vxlan mode writes IPv4,
 *                    UDP (with a per-flow source port and the UDP checksum in JavaScript) and VXLAN
 * raw + encap, no csum   the same with `noudpcsum` (what the JavaScript checksum costs)
 * raw, prebuilt      the raw socket alone: headers already in place (what sendmmsg costs)
 * udp socket         a UDP socket bound to one source port: the kernel writes IPv4 and UDP, but every
 *                    packet has that one source port (no per-flow spreading, no hashing)
 * hash               flowHash + vxlanSourcePort alone, per frame (no I/O)
 *
 * The receiving socket is never read: the kernel drops what overflows it, which costs little.
 */
import { inNetns } from '../src/io/native/index.js';
import { PacketBatch, type PacketPort } from '../src/io/port.js';
import { RawIpv4Socket } from '../src/io/raw-socket.js';
import { UdpSocket } from '../src/io/udp-socket.js';
import { defaultVxlanParams, encapsulateVxlan, flowHash, newVxlanEncapResult, VxlanDevice, vxlanSourcePort } from '../src/tunnel/vxlan.js';
import { ADDR_A, ADDR_B, vethPair } from '../test/compliance/veth.js';

const BATCH = 64;
const FRAME = 1464;
const HEADROOM = 64;
const seconds = Number(process.argv[2] ?? 3);

/** A batch of BATCH Ethernet frames carrying UDP flows with distinct ports, at HEADROOM. */
function frames(): PacketBatch {
  const batch = new PacketBatch(BATCH, 2048, HEADROOM);
  for (let i = 0; i < BATCH; i++) {
    const at = batch.slotStart(i) + HEADROOM;
    const f = batch.data.subarray(at, at + FRAME);
    f.fill(0);
    f.set([2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x00], 0);
    f[14] = 0x45;
    f.writeUInt16BE(FRAME - 14, 16);
    f[22] = 64;
    f[23] = 17;
    f.writeUInt32BE(0x0a000001, 26);
    f.writeUInt32BE(0x0a000002, 30);
    f.writeUInt16BE(1024 + i, 34);
    f.writeUInt16BE(80, 36);
    batch.push(at, FRAME);
  }
  return batch;
}

function run(label: string, port: PacketPort, prepare: (out: PacketBatch) => void, out: PacketBatch): void {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let sent = 0;
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 16; k++) {
      prepare(out);
      sent += port.writeBatch(out);
    }
    now = process.hrtime.bigint();
  }
  const elapsed = Number(now - t0) / 1e9;
  const usage = process.cpuUsage(cpu0);
  const ns = ((usage.user + usage.system) * 1000) / Math.max(sent, 1);
  const pct = (us: number) => Math.round(us / 1e4 / elapsed);
  process.stdout.write(
    `${label.padEnd(24)} ${Math.round(sent / elapsed).toString().padStart(8)} pps  ` +
      `${((sent / elapsed) * 1500 * 8 / 1e9).toFixed(2)} Gbit/s  user ${pct(usage.user)}% sys ${pct(usage.system)}%  ${Math.round(ns)} ns CPU/packet\n`,
  );
}

const veth = vethPair();
try {
  const sink = inNetns(`/run/netns/${veth.nsB}`, () => UdpSocket.open({ address: ADDR_B, port: 4789, bufferBytes: 1 << 16 }));
  const raw = inNetns(`/run/netns/${veth.nsA}`, () => RawIpv4Socket.open({ protocol: 255 }));
  const udp = inNetns(`/run/netns/${veth.nsA}`, () => UdpSocket.open({ address: ADDR_A, port: 40000 }));
  try {
    const params = { ...defaultVxlanParams(), name: 'bench', vni: 100, remote: ADDR_B, local: ADDR_A, dstPort: 4789 };
    const path = { source: ADDR_A, mtu: 1500, hopLimit: 64 };
    const encap = newVxlanEncapResult();
    const range: [number, number] = [32768, 60999];
    for (const [label, udpCsum] of [
      ['raw + encap', true],
      ['raw + encap, no csum', false],
    ] as const) {
      const device = new VxlanDevice({ ...params, udpCsum });
      const remote = device.defaultRemote()!;
      const input = frames();
      const out = PacketBatch.forWriting(BATCH);
      run(label, raw, (o) => {
        o.borrow(input);
        for (let i = 0; i < BATCH; i++) {
          const start = input.offsets[i];
          const sport = vxlanSourcePort(flowHash(input.data, start, FRAME, 7), 0, 0, range);
          encapsulateVxlan(device, input.data, start, FRAME, remote, path, sport, encap);
          o.push(encap.start, encap.length, ADDR_B, 0);
        }
      }, out);
    }
    {
      const device = new VxlanDevice(params);
      const input = frames();
      const out = PacketBatch.forWriting(BATCH);
      out.borrow(input);
      for (let i = 0; i < BATCH; i++) {
        encapsulateVxlan(device, input.data, input.offsets[i], FRAME, device.defaultRemote()!, path, 40000, encap);
        out.push(encap.start, encap.length, ADDR_B, 0);
      }
      run('raw, prebuilt', raw, () => {}, out);
    }
    {
      const out = new PacketBatch(BATCH, 2048, 0);
      for (let i = 0; i < BATCH; i++) out.push(out.slotStart(i), 1472, ADDR_B, 4789);
      run('udp socket', udp, () => {}, out);
    }
    {
      const input = frames();
      const n = 2_000_000;
      let sink32 = 0;
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < n; k++) sink32 ^= vxlanSourcePort(flowHash(input.data, input.offsets[k % BATCH], FRAME, 7), 0, 0, range);
      const ns = Number(process.hrtime.bigint() - t0) / n;
      process.stdout.write(`${'hash'.padEnd(24)} ${ns.toFixed(0)} ns per frame (${sink32 & 1})\n`);
    }
  } finally {
    raw.close();
    udp.close();
    sink.close();
  }
} finally {
  veth.spaces.destroy();
}
