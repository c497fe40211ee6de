/**
 * What the benchmark (bench/run.ts) measures with, as small functions over a Lab: iperf3 TCP and UDP
 * runs parsed from its JSON, ping round trips, a process's CPU time and memory from /proc, and the
 * machine's load. Nothing here prints.
 */
import fs from 'node:fs';
import type { Lab } from '../src/lab/netns.js';

export interface TcpResult {
  /** Bits per second the receiver got. */
  bps: number;
  retransmits: number;
}

export interface UdpResult {
  /** Datagrams per second the client offered and the server received. */
  sentPps: number;
  receivedPps: number;
  lossPercent: number;
}

/** The first `{` to the end: iperf3 may print a warning before its JSON. */
function parseJson(text: string): any {
  const at = text.indexOf('{');
  if (at < 0) throw new Error(`no JSON in iperf3 output: ${text.slice(0, 200)}`);
  return JSON.parse(text.slice(at));
}

export async function iperfTcp(lab: Lab, ns: string, target: string, seconds: number, streams: number): Promise<TcpResult> {
  const argv = ['iperf3', '-c', target, '-t', String(seconds), '-P', String(streams), '-J', '--connect-timeout', '3000'];
  const r = await lab.exec(ns, argv, { timeoutMs: (seconds + 20) * 1000 });
  const json = parseJson(r.stdout);
  if (json.error) throw new Error(`iperf3: ${json.error}`);
  return { bps: json.end.sum_received.bits_per_second, retransmits: json.end.sum_sent.retransmits ?? 0 };
}

/**
 * One UDP run at `pps` datagrams per second of `size`-byte payloads (pps 0: as fast as iperf3 can).
 * iperf3's rate counts payload bits. Loss is what the server missed, including reordering.
 */
export async function iperfUdp(lab: Lab, ns: string, target: string, seconds: number, size: number, pps: number): Promise<UdpResult> {
  const rate = pps === 0 ? '0' : String(Math.round(pps * size * 8));
  const argv = ['iperf3', '-c', target, '-u', '-w', '4M', '-l', String(size), '-b', rate, '-t', String(seconds), '-J', '--connect-timeout', '3000'];
  const r = await lab.exec(ns, argv, { timeoutMs: (seconds + 20) * 1000 });
  const json = parseJson(r.stdout);
  if (json.error) throw new Error(`iperf3: ${json.error}`);
  const sum = json.end.sum;
  const sent = json.end.sum_sent?.packets ?? sum.packets;
  const lost = sum.lost_packets;
  const packets = sum.packets;
  const secs = sum.seconds || seconds;
  return { sentPps: sent / secs, receivedPps: (packets - lost) / secs, lossPercent: packets > 0 ? (100 * lost) / packets : 100 };
}

/** Round-trip times in microseconds of `count` pings at `intervalMs` (root may go below 200 ms). */
export async function pingTimes(lab: Lab, ns: string, target: string, count: number, intervalMs: number): Promise<number[]> {
  const argv = ['ping', '-n', '-c', String(count), '-i', String(intervalMs / 1000), '-W', '1', target];
  const r = await lab.exec(ns, argv, { timeoutMs: count * intervalMs + 15_000 });
  const times: number[] = [];
  for (const m of r.stdout.matchAll(/time=([0-9.]+) ms/g)) times.push(Math.round(Number(m[1]) * 1000));
  return times;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[at];
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

// ---- processes and the machine ----------------------------------------------------------------

const TICKS_PER_SECOND = 100; // CLK_TCK on Linux/x86-64

/** User + system CPU seconds a process has used so far (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** VmRSS and VmHWM (peak) in MiB. */
export function memory(pid: number): { rss: number; peak: number } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

/** Busy and total jiffies of the whole machine (from /proc/stat), to tell how loaded it was. */
function machineTicks(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + v[4];
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Samples the machine's CPU use (0..100 % of all cores) over `ms`. */
export async function machineBusy(ms: number): Promise<number> {
  const a = machineTicks();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineTicks();
  return (100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total);
}

export function loadAverage(): number[] {
  return fs.readFileSync('/proc/loadavg', 'utf8').trim().split(/\s+/).slice(0, 3).map(Number);
}

/** Command names of the busiest other processes (qemu, node tests), for the record of conditions. */
export function otherBusyProcesses(exclude: ReadonlySet<number>): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || exclude.has(Number(entry))) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'R') out.push(comm);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Measures a process's CPU (% of one core) and memory over an async action. */
export async function withCpu<T>(pids: readonly number[], action: () => Promise<T>): Promise<{ value: T; cpu: number; rss: number }> {
  const before = pids.map(cpuSeconds);
  const t0 = performance.now();
  const value = await action();
  const seconds = (performance.now() - t0) / 1000;
  const after = pids.map(cpuSeconds);
  const cpu = pids.reduce((sum, _, i) => sum + (after[i] - before[i]), 0);
  const rss = Math.max(0, ...pids.map((p) => memory(p).rss));
  return { value, cpu: (100 * cpu) / seconds, rss };
}
