/**
 * Micro-benchmark of the native boundary on a TUN device (not a test): packets per second through
 * TunDevice.writeBatch and TunDevice.readBatch, batches of 64, for 64-byte and 1400-byte IP packets.
 *
 *   npx tsc -p . && node dist/bench/pktio-micro.js [seconds=3]      (root: it makes a namespace)
 *
 * Topology (one namespace, bwio-bench-<pid>, forwarding on; removed at the end):
 *
 *   bwio-ta 198.18.1.1/24 --forward--> bwio-tb 198.18.2.1/24
 *   198.18.9.0/24: blackhole route
 *
 * write: this process writes batches into bwio-ta addressed to 198.18.9.1; the kernel routes each
 *        packet to the blackhole. Measures writeBatch plus the kernel's receive path (a TUN write is
 *        synchronous: the kernel does its IP work inside write()).
 * read:  a child process (this file, --writer) writes into bwio-ta toward 198.18.2.2 as fast as it
 *        can; the kernel forwards into bwio-tb, which this process drains with readiness + readBatch.
 *        On two cores the writer holds one core; a figure at the writer's own rate is the writer's
 *        limit, not the reader's (compare the two columns).
 */
import { execFileSync, spawn } from 'node:child_process';
import { inNetns } from '../src/io/native/index.js';
import { PacketBatch } from '../src/io/port.js';
import { TunDevice } from '../src/io/tun.js';
import { internetChecksum } from '../src/wire/checksum.js';

const BATCH = 64;
const SIZES = [64, 1400];

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A batch holding BATCH copies of one IPv4 packet (protocol 253) of `size` bytes to `dst`. */
function packets(size: number, dst: number): PacketBatch {
  const batch = new PacketBatch(BATCH, 2048, 0);
  const p = Buffer.alloc(size);
  p[0] = 0x45;
  p.writeUInt16BE(size, 2);
  p.writeUInt16BE(0x4000, 6);
  p[8] = 64;
  p[9] = 253;
  p.writeUInt32BE(0xc6120102, 12); // 198.18.1.2
  p.writeUInt32BE(dst, 16);
  p.writeUInt16BE(internetChecksum(p, 0, 20), 10);
  for (let i = 0; i < BATCH; i++) {
    p.copy(batch.data, batch.slotStart(i));
    batch.push(batch.slotStart(i), size);
  }
  return batch;
}

/** Writes batches for `seconds`; returns packets written per second and the CPU split. */
function writeLoop(
  tun: TunDevice,
  batch: PacketBatch,
  seconds: number,
): { pps: number; written: number; failed: number; cpu: string } {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let written = 0;
  let failed = 0;
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 16; k++) {
      const n = tun.writeBatch(batch);
      written += n;
      failed += BATCH - n;
    }
    now = process.hrtime.bigint();
  }
  const elapsed = Number(now - t0) / 1e9;
  return { pps: written / elapsed, written, failed, cpu: cpuText(process.cpuUsage(cpu0), elapsed, written) };
}

/** CPU share, and CPU time per packet: the figure that holds when other work shares the cores. */
function cpuText(usage: NodeJS.CpuUsage, seconds: number, packets: number): string {
  const pct = (us: number) => Math.round(us / 1e4 / seconds);
  const nsPerPacket = ((usage.user + usage.system) * 1000) / Math.max(packets, 1);
  return `user ${pct(usage.user)}% sys ${pct(usage.system)}% (${Math.round(nsPerPacket)} ns CPU/packet)`;
}

function deviceCounter(ns: string, dev: string, counter: string): number {
  const text = execFileSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/statistics/${counter}`], {
    encoding: 'utf8',
  });
  return Number(text.trim());
}

function format(pps: number, size: number): string {
  return `${Math.round(pps).toLocaleString('en-US').padStart(9)} pps  ${((pps * size * 8) / 1e9).toFixed(2).padStart(5)} Gbit/s`;
}

/** The --writer child: makes bwio-ta in the namespace and writes toward bwio-tb until time is up. */
function writer(ns: string, size: number, seconds: number): void {
  const tun = inNetns(`/run/netns/${ns}`, () => TunDevice.create('bwio-ta'));
  ip('-n', ns, 'addr', 'add', '198.18.1.1/24', 'dev', 'bwio-ta');
  ip('-n', ns, 'link', 'set', 'bwio-ta', 'up');
  process.stdout.write('ready\n');
  const r = writeLoop(tun, packets(size, 0xc6120202), seconds); // 198.18.2.2
  tun.close();
  process.stdout.write(JSON.stringify(r) + '\n');
}

async function readBench(ns: string, tunB: TunDevice, size: number, seconds: number): Promise<void> {
  const child = spawn(process.execPath, [process.argv[1], '--writer', ns, String(size), String(seconds)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const batch = new PacketBatch(BATCH, 2048, 64);
  let count = 0;
  let first = 0n;
  let last = 0n;
  let cpu0 = process.cpuUsage();
  let wakeups = 0;
  tunB.onReadable(() => {
    wakeups++;
    // At most 4 batches per wakeup, so the event loop stays responsive (spec/node-packet-io.md).
    for (let k = 0; k < 4; k++) {
      const n = tunB.readBatch(batch);
      if (n > 0) {
        if (count === 0) {
          first = process.hrtime.bigint();
          cpu0 = process.cpuUsage();
        }
        count += n;
        last = process.hrtime.bigint();
      }
      if (n < BATCH) break;
    }
  });
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  tunB.onReadable(null);
  const elapsed = Number(last - first) / 1e9;
  const pps = elapsed > 0 ? count / elapsed : 0;
  const written = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { pps?: number; written?: number };
  const dropped = deviceCounter(ns, 'bwio-tb', 'tx_dropped');
  console.log(
    `read  ${String(size).padStart(4)} B: ${format(pps, size)}  ${cpuText(process.cpuUsage(cpu0), elapsed, count)}` +
      `  ${(count / Math.max(wakeups, 1)).toFixed(1)} packets/wakeup; writer ${Math.round(written.pps ?? 0).toLocaleString('en-US')} pps,` +
      ` ${count} read of ${written.written ?? '?'} written, ${dropped} dropped in the full device queue`,
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--writer') {
    writer(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
    return;
  }
  if (process.getuid?.() !== 0) {
    console.error('pktio-micro needs root (network namespace, TUN devices)');
    process.exit(1);
  }
  const seconds = Number(process.argv[2] ?? 3);
  const ns = `bwio-bench-${process.pid}`;
  ip('netns', 'add', ns);
  try {
    ip('netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1');
    console.log(`TUN batches of ${BATCH}, ${seconds} s per run, node ${process.version}`);
    for (const size of SIZES) {
      const tunA = inNetns(`/run/netns/${ns}`, () => TunDevice.create('bwio-ta'));
      ip('-n', ns, 'addr', 'add', '198.18.1.1/24', 'dev', 'bwio-ta');
      ip('-n', ns, 'link', 'set', 'bwio-ta', 'up');
      ip('-n', ns, 'route', 'add', 'blackhole', '198.18.9.0/24');
      const w = writeLoop(tunA, packets(size, 0xc6120901), seconds); // 198.18.9.1
      console.log(`write ${String(size).padStart(4)} B: ${format(w.pps, size)}  ${w.cpu}${w.failed ? `  (${w.failed} failed)` : ''}`);
      tunA.close();
      ip('-n', ns, 'route', 'del', 'blackhole', '198.18.9.0/24');

      const tunB = inNetns(`/run/netns/${ns}`, () => TunDevice.create('bwio-tb'));
      ip('-n', ns, 'addr', 'add', '198.18.2.1/24', 'dev', 'bwio-tb');
      // A long queue, so that a reader descheduled for a moment (two shared cores) loses nothing.
      ip('-n', ns, 'link', 'set', 'bwio-tb', 'txqueuelen', '20000', 'up');
      await readBench(ns, tunB, size, seconds);
      tunB.close();
    }
  } finally {
    ip('netns', 'del', ns);
  }
}

await main();
