/**
 * `npm run bench`: burrow's data plane and control plane against the kernel, side by side, on this
 * machine (root; iperf3, ping, ethtool). Options:
 *
 *   --quick              one round, short runs, a coarse rate search (under two minutes)
 *   --only a,b,...       only these paths (veth, kernel-vxlan, ipip, gre, sit, vxlan)
 *   --skip tests         leave out some of: tcp1, tcp4, udp64, udp1400, ping, control
 *   --rounds N           rounds of each data-plane measurement (default 3; the median is reported)
 *   --out FILE           where the JSON goes (default bench/results/<date>.json and bench/results/latest.json)
 *
 * Topology (one lab, removed at the end, also on failure or Ctrl-C):
 *
 *     A  eth0 192.168.60.1/24  <---- veth ---->  B  eth0 192.168.60.2/24
 *        kvx0  10.61.0.1   kernel vxlan id 42 dstport 4789 (the reference)   10.61.0.2
 *        bip0  10.62.0.1   burrow ipip                                       10.62.0.2
 *        bgre0 10.63.0.1   burrow gre                                        10.63.0.2
 *        bsit0 fd00:64::1  burrow sit (IPv6 inside)                          fd00:64::2
 *        bvx0  10.65.0.1   burrow vxlan id 43 dstport 4790                   10.65.0.2
 *
 * Every path goes over the same veth, so "veth" is the path's limit and "kernel-vxlan" the reference
 * the ratios are taken to. Each measurement runs over every path in turn, round after round, with the
 * order rotated each round, so that a noisy neighbour on this shared machine hits all paths alike;
 * the median of the rounds is reported.
 *
 * Measurements: iperf3 TCP, one stream and four; iperf3 UDP with 64-byte and 1400-byte payloads: the
 * highest rate with at most 0.1% loss (bisection over the offered rate, one step of every path at a
 * time), reported as datagrams per second received; ping round trips p50/p99 (idle path); the two
 * daemons' CPU (sum, % of one core) during the TCP single-stream run and their resident memory.
 * Control plane (a third namespace): a daemon with one tunnel (its memory), then 1000 tunnels made
 * with `burrow -batch` (time, memory), `burrow tunnel show` of them (time), and their removal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lab, repoRoot } from '../src/lab/netns.js';
import {
  cpuSeconds,
  iperfTcp,
  iperfUdp,
  loadAverage,
  machineBusy,
  median,
  memory,
  otherBusyProcesses,
  percentile,
  pingTimes,
  withCpu,
} from './measure.js';

interface Options {
  quick: boolean;
  only: string[] | null;
  skip: Set<string>;
  rounds: number;
  out: string | null;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { quick: false, only: null, skip: new Set(), rounds: 3, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = argv[++i].split(',');
    else if (a === '--skip') for (const s of argv[++i].split(',')) o.skip.add(s);
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--out') o.out = argv[++i];
    else throw new Error(`unknown option ${a} (see the top of bench/run.ts)`);
  }
  if (o.quick && !argv.includes('--rounds')) o.rounds = 1;
  return o;
}

/** Durations and counts for the full and the quick run. */
function plan(o: Options) {
  return o.quick
    ? { tcpSeconds: 3, udpSeconds: 1.5, udpSteps: 4, pings: 200, pingIntervalMs: 5 }
    : { tcpSeconds: 8, udpSeconds: 3, udpSteps: 7, pings: 500, pingIntervalMs: 5 };
}

interface Path {
  name: string;
  kind: 'veth' | 'kernel' | 'burrow';
  /** B's address on the path, which A's iperf3 and ping go to. */
  target: string;
}

const PATHS: Path[] = [
  { name: 'veth', kind: 'veth', target: '192.168.60.2' },
  { name: 'kernel-vxlan', kind: 'kernel', target: '10.61.0.2' },
  { name: 'ipip', kind: 'burrow', target: '10.62.0.2' },
  { name: 'gre', kind: 'burrow', target: '10.63.0.2' },
  { name: 'sit', kind: 'burrow', target: 'fd00:64::2' },
  { name: 'vxlan', kind: 'burrow', target: '10.65.0.2' },
];

const A = 'a';
const B = 'b';
const UNDER: Record<string, string> = { a: '192.168.60.1', b: '192.168.60.2' };

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function burrowOk(lab: Lab, ns: string, args: string[]): Promise<string> {
  const r = await lab.burrow(ns, args);
  if (r.code !== 0) throw new Error(`burrow ${args.join(' ')} in ${ns}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function buildPaths(lab: Lab, paths: readonly Path[]): Promise<void> {
  await lab.addNamespace(A);
  await lab.addNamespace(B);
  await lab.addVeth({ ns: A, ifname: 'eth0' }, { ns: B, ifname: 'eth0' });
  for (const ns of [A, B]) {
    await lab.addAddress(ns, 'eth0', `${UNDER[ns]}/24`);
    await lab.linkUp(ns, 'eth0');
  }
  const names = new Set(paths.map((p) => p.name));
  for (const [ns, peer, host] of [[A, B, '1'], [B, A, '2']] as const) {
    const local = UNDER[ns];
    const remote = UNDER[peer];
    const up = async (dev: string, cidr: string) => {
      await lab.linkUp(ns, dev);
      await lab.addAddress(ns, dev, cidr);
    };
    if (names.has('kernel-vxlan')) {
      await lab.ip(ns, ['link', 'add', 'kvx0', 'type', 'vxlan', 'id', '42', 'remote', remote, 'local', local, 'dev', 'eth0', 'dstport', '4789']);
      await up('kvx0', `10.61.0.${host}/24`);
    }
    if (names.has('ipip')) {
      await burrowOk(lab, ns, ['tunnel', 'add', 'bip0', 'mode', 'ipip', 'remote', remote, 'local', local, 'ttl', '64']);
      await up('bip0', `10.62.0.${host}/24`);
    }
    if (names.has('gre')) {
      await burrowOk(lab, ns, ['tunnel', 'add', 'bgre0', 'mode', 'gre', 'remote', remote, 'local', local, 'ttl', '64']);
      await up('bgre0', `10.63.0.${host}/24`);
    }
    if (names.has('sit')) {
      await burrowOk(lab, ns, ['tunnel', 'add', 'bsit0', 'mode', 'sit', 'remote', remote, 'local', local, 'ttl', '64']);
      await up('bsit0', `fd00:64::${host}/64`);
    }
    if (names.has('vxlan')) {
      await burrowOk(lab, ns, ['link', 'add', 'bvx0', 'type', 'vxlan', 'id', '43', 'remote', remote, 'local', local, 'dev', 'eth0', 'dstport', '4790']);
      await up('bvx0', `10.65.0.${host}/24`);
    }
  }
  // Neighbours resolved and the paths proven before anything is timed.
  for (const p of paths) {
    const argv = ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', p.target];
    const r = await lab.exec(A, argv);
    if (r.code !== 0) throw new Error(`${p.name}: ${p.target} does not answer ping: ${r.stdout}${r.stderr}`);
  }
}

async function daemonPid(lab: Lab, ns: string): Promise<number> {
  const out = await burrowOk(lab, ns, ['daemon', 'status']);
  const m = /pid (\d+)/.exec(out);
  if (!m) throw new Error(`no pid in "burrow daemon status": ${out}`);
  return Number(m[1]);
}

/** What a path that stopped carrying TCP looks like: a ping, the daemons' liveness and counters. */
async function diagnose(lab: Lab, p: Path, pids: number[]): Promise<string> {
  const ping = await lab.exec(A, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', p.target]);
  const alive = pids.map((pid) => `${pid} ${fs.existsSync(`/proc/${pid}`) ? 'alive' : 'GONE'}`).join(', ');
  const stats = [];
  for (const ns of [A, B]) {
    const r = await lab.burrow(ns, p.name === 'vxlan' ? ['-s', '-s', 'link', 'show'] : ['-s', '-s', 'tunnel', 'show']);
    stats.push(`[${ns}] ${r.stdout}${r.stderr}`);
  }
  return `  diagnosis: ping ${/(\d+) received/.exec(ping.stdout)?.[1] ?? '?'}/3; daemons ${alive}\n${stats.join('\n')}`;
}

/** Each round visits every path, starting one further along than the round before. */
function rotations<T>(items: readonly T[], rounds: number): T[][] {
  const out: T[][] = [];
  for (let r = 0; r < rounds; r++) out.push(items.map((_, i) => items[(i + r) % items.length]));
  return out;
}

interface Cell {
  /** The figure reported (median of the rounds), and each round's. */
  value: number;
  rounds: number[];
}

/** The median of the rounds that gave a figure (a failed round is NaN and stays in `rounds`). */
function cell(values: number[]): Cell {
  return { value: median(values.filter((v) => Number.isFinite(v))), rounds: values };
}

interface PathResult {
  tcp1?: Cell & { retransmits: number[] };
  tcp4?: Cell;
  udp64?: Cell & { offeredPps: number };
  udp1400?: Cell & { offeredPps: number };
  pingP50?: Cell;
  pingP99?: Cell;
  daemonCpu?: Cell;
  daemonRssMiB?: number;
}

async function runTcp(lab: Lab, paths: readonly Path[], o: Options, streams: number, pids: number[], results: Map<string, PathResult>) {
  const { tcpSeconds } = plan(o);
  const values = new Map<string, number[]>();
  const retrans = new Map<string, number[]>();
  const cpus = new Map<string, number[]>();
  for (const round of rotations(paths, o.rounds)) {
    for (const p of round) {
      // One retry: on this shared machine a run now and then fails to connect within iperf3's timeout.
      const run = () => withCpu(p.kind === 'burrow' ? pids : [], () => iperfTcp(lab, A, p.target, tcpSeconds, streams));
      const measured = await run().catch(async (error: Error) => {
        log(`  tcp x${streams} ${p.name}: ${error.message}; once more`);
        await new Promise((r) => setTimeout(r, 1000));
        return run().catch(async (again: Error) => {
          // Recorded as a failed round (NaN), with what the path looked like, instead of ending the run.
          log(`  tcp x${streams} ${p.name}: ${again.message}; recorded as failed`);
          log(await diagnose(lab, p, pids));
          return { value: { bps: NaN, retransmits: NaN }, cpu: NaN, rss: NaN };
        });
      });
      const gbps = measured.value.bps / 1e9;
      (values.get(p.name) ?? values.set(p.name, []).get(p.name)!).push(gbps);
      (retrans.get(p.name) ?? retrans.set(p.name, []).get(p.name)!).push(measured.value.retransmits);
      if (p.kind === 'burrow') (cpus.get(p.name) ?? cpus.set(p.name, []).get(p.name)!).push(measured.cpu);
      log(`  tcp x${streams} ${p.name}: ${gbps.toFixed(2)} Gbit/s${p.kind === 'burrow' ? `, daemons ${measured.cpu.toFixed(0)}% CPU, ${measured.rss.toFixed(0)} MiB` : ''}`);
      if (p.kind === 'burrow') {
        const r = results.get(p.name)!;
        r.daemonRssMiB = Math.max(r.daemonRssMiB ?? 0, measured.rss);
      }
    }
  }
  for (const p of paths) {
    const r = results.get(p.name)!;
    if (streams === 1) {
      r.tcp1 = { ...cell(values.get(p.name)!), retransmits: retrans.get(p.name)! };
      if (cpus.has(p.name)) r.daemonCpu = cell(cpus.get(p.name)!);
    } else {
      r.tcp4 = cell(values.get(p.name)!);
    }
  }
}

/**
 * The highest offered rate with at most 0.1% loss, by bisection: first as fast as iperf3 sends (which
 * gives the upper end and, from what arrived, the first guess), then halving the interval. Every
 * path takes its step before any path takes the next.
 */
async function runUdp(lab: Lab, paths: readonly Path[], o: Options, size: number, results: Map<string, PathResult>) {
  const { udpSeconds, udpSteps } = plan(o);
  const state = new Map<string, { lo: number; hi: number; best: number; bestOffered: number; next: number }>();
  for (let step = 0; step <= udpSteps; step++) {
    for (const p of rotations(paths, udpSteps + 1)[step]) {
      const s = state.get(p.name);
      const offered = step === 0 ? 0 : s!.next;
      let r;
      try {
        r = await iperfUdp(lab, A, p.target, udpSeconds, size, offered);
      } catch (error) {
        log(`  udp ${size} ${p.name}: ${(error as Error).message}`);
        r = { sentPps: offered, receivedPps: 0, lossPercent: 100 };
      }
      const ok = r.lossPercent <= 0.1;
      if (step === 0) {
        const st = { lo: 0, hi: r.sentPps, best: 0, bestOffered: 0, next: 0 };
        if (ok) Object.assign(st, { lo: r.sentPps, best: r.receivedPps, bestOffered: r.sentPps });
        st.next = ok ? st.hi : Math.min(st.hi, r.receivedPps);
        state.set(p.name, st);
      } else {
        if (ok) {
          s!.lo = offered;
          if (r.receivedPps > s!.best) Object.assign(s!, { best: r.receivedPps, bestOffered: offered });
        } else {
          s!.hi = offered;
        }
        s!.next = (s!.lo + s!.hi) / 2;
      }
      const st = state.get(p.name)!;
      if (step === 0 && ok) st.next = st.hi; // iperf3's own limit was reached without loss: stays there
      log(`  udp ${size} ${p.name} step ${step}: offered ${offered === 0 ? 'max' : Math.round(offered)} -> ${Math.round(r.receivedPps)} pps, loss ${r.lossPercent.toFixed(2)}%`);
    }
  }
  for (const p of paths) {
    const st = state.get(p.name)!;
    const r = results.get(p.name)!;
    const entry = { value: st.best, rounds: [st.best], offeredPps: st.bestOffered };
    if (size === 64) r.udp64 = entry;
    else r.udp1400 = entry;
  }
}

async function runPing(lab: Lab, paths: readonly Path[], o: Options, results: Map<string, PathResult>) {
  const { pings, pingIntervalMs } = plan(o);
  const p50 = new Map<string, number[]>();
  const p99 = new Map<string, number[]>();
  for (const round of rotations(paths, o.rounds)) {
    for (const p of round) {
      const times = await pingTimes(lab, A, p.target, pings, pingIntervalMs);
      (p50.get(p.name) ?? p50.set(p.name, []).get(p.name)!).push(percentile(times, 50));
      (p99.get(p.name) ?? p99.set(p.name, []).get(p.name)!).push(percentile(times, 99));
      log(`  ping ${p.name}: p50 ${percentile(times, 50)} us, p99 ${percentile(times, 99)} us (${times.length}/${pings})`);
    }
  }
  for (const p of paths) {
    const r = results.get(p.name)!;
    r.pingP50 = cell(p50.get(p.name)!);
    r.pingP99 = cell(p99.get(p.name)!);
  }
}

interface ControlResult {
  rssOneTunnelMiB: number;
  create1000Seconds: number;
  rss1000MiB: number;
  show1000Seconds: number;
  showLines: number;
  delete1000Seconds: number;
}

/** A daemon alone in its namespace: one tunnel, then a thousand made with -batch, shown, removed. */
async function runControl(lab: Lab): Promise<ControlResult> {
  const C = 'c';
  await lab.addNamespace(C);
  // This kernel has no dummy driver: a veth pair inside the namespace stands in for the underlay.
  await lab.addVeth({ ns: C, ifname: 'd0' }, { ns: C, ifname: 'd1' });
  await lab.addAddress(C, 'd0', '192.168.70.1/24');
  await lab.linkUp(C, 'd0');
  await lab.linkUp(C, 'd1');
  await lab.ip(C, ['route', 'add', '10.0.0.0/8', 'via', '192.168.70.2']);
  await burrowOk(lab, C, ['tunnel', 'add', 'one', 'mode', 'ipip', 'remote', '10.255.255.1', 'local', '192.168.70.1', 'ttl', '64']);
  await lab.linkUp(C, 'one');
  const pid = await daemonPid(lab, C);
  await new Promise((r) => setTimeout(r, 1000));
  const rssOne = memory(pid).rss;
  log(`  control: daemon with one tunnel: ${rssOne.toFixed(1)} MiB`);
  await burrowOk(lab, C, ['tunnel', 'del', 'one']);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-bench-'));
  try {
    const add = path.join(dir, 'add');
    const del = path.join(dir, 'del');
    const lines: string[] = [];
    const dels: string[] = [];
    for (let i = 0; i < 1000; i++) {
      lines.push(`tunnel add t${i} mode ipip remote 10.${i >> 8}.${i & 255}.1 local 192.168.70.1 ttl 64`);
      dels.push(`tunnel del t${i}`);
    }
    fs.writeFileSync(add, lines.join('\n') + '\n');
    fs.writeFileSync(del, dels.join('\n') + '\n');
    const timed = async (args: string[]) => {
      const t0 = performance.now();
      const out = await burrowOk(lab, C, args);
      return { seconds: (performance.now() - t0) / 1000, out };
    };
    const created = await timed(['-batch', add]);
    log(`  control: 1000 tunnels created in ${created.seconds.toFixed(2)} s`);
    await new Promise((r) => setTimeout(r, 1000));
    const rss1000 = memory(pid).rss;
    log(`  control: daemon with 1000 tunnels: ${rss1000.toFixed(1)} MiB`);
    const shown = await timed(['tunnel', 'show']);
    const showLines = shown.out.split('\n').filter((l) => l !== '').length;
    log(`  control: tunnel show of ${showLines} tunnels in ${shown.seconds.toFixed(2)} s`);
    const deleted = await timed(['-batch', del]);
    log(`  control: 1000 tunnels deleted in ${deleted.seconds.toFixed(2)} s`);
    return {
      rssOneTunnelMiB: rssOne,
      create1000Seconds: created.seconds,
      rss1000MiB: rss1000,
      show1000Seconds: shown.seconds,
      showLines,
      delete1000Seconds: deleted.seconds,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the table -----------------------------------------------------------------------------------

function fmt(value: number | undefined, digits: number): string {
  return value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);
}

function ratio(value: number | undefined, reference: number | undefined): string {
  if (value === undefined || reference === undefined || !reference) return '';
  return ` (${(value / reference).toFixed(2)}x)`;
}

function delta(value: number | undefined, reference: number | undefined): string {
  if (value === undefined || reference === undefined) return '';
  const d = value - reference;
  return ` (${d >= 0 ? '+' : ''}${d.toFixed(0)})`;
}

export function table(results: Record<string, PathResult>): string {
  const ref = results['kernel-vxlan'];
  const head = ['path', 'TCP 1 stream Gbit/s', 'TCP 4 streams Gbit/s', 'UDP 64 B pps', 'UDP 1400 B pps', 'ping p50 us', 'ping p99 us', 'daemons CPU %', 'daemon RSS MiB'];
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    fmt(r.tcp1?.value, 2) + ratio(r.tcp1?.value, ref?.tcp1?.value),
    fmt(r.tcp4?.value, 2) + ratio(r.tcp4?.value, ref?.tcp4?.value),
    fmt(r.udp64?.value, 0) + ratio(r.udp64?.value, ref?.udp64?.value),
    fmt(r.udp1400?.value, 0) + ratio(r.udp1400?.value, ref?.udp1400?.value),
    fmt(r.pingP50?.value, 0) + delta(r.pingP50?.value, ref?.pingP50?.value),
    fmt(r.pingP99?.value, 0) + delta(r.pingP99?.value, ref?.pingP99?.value),
    fmt(r.daemonCpu?.value, 0),
    fmt(r.daemonRssMiB, 0),
  ]);
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function controlTable(c: ControlResult): string {
  return [
    '| control plane | measured |',
    '|---|---|',
    `| daemon RSS, one tunnel | ${c.rssOneTunnelMiB.toFixed(1)} MiB |`,
    `| 1000 tunnels created (\`burrow -batch\`) | ${c.create1000Seconds.toFixed(2)} s |`,
    `| daemon RSS, 1000 tunnels | ${c.rss1000MiB.toFixed(1)} MiB |`,
    `| \`burrow tunnel show\`, 1000 tunnels | ${c.show1000Seconds.toFixed(2)} s |`,
    `| 1000 tunnels deleted (\`burrow -batch\`) | ${c.delete1000Seconds.toFixed(2)} s |`,
  ].join('\n');
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (network namespaces)');
  const paths = PATHS.filter((p) => o.only === null || o.only.includes(p.name));
  const startedAt = new Date();
  const conditions = {
    loadBefore: loadAverage(),
    busyBeforePercent: await machineBusy(1000),
    otherRunning: otherBusyProcesses(new Set([process.pid])),
  };
  log(`burrow bench${o.quick ? ' (quick)' : ''}: ${machine()}`);
  log(`load ${conditions.loadBefore.join(' ')}, machine ${conditions.busyBeforePercent.toFixed(0)}% busy before the run`);

  const lab = new Lab();
  const results = new Map<string, PathResult>(paths.map((p) => [p.name, {}]));
  let control: ControlResult | undefined;
  try {
    await buildPaths(lab, paths);
    const pids = paths.some((p) => p.kind === 'burrow') ? [await daemonPid(lab, A), await daemonPid(lab, B)] : [];
    const server = lab.spawn(B, ['iperf3', '-s']);
    await new Promise((r) => setTimeout(r, 300));
    const cpu0 = pids.map(cpuSeconds);
    if (!o.skip.has('ping')) {
      log('ping (idle paths)');
      await runPing(lab, paths, o, results);
    }
    if (!o.skip.has('tcp1')) {
      log('TCP, one stream');
      await runTcp(lab, paths, o, 1, pids, results);
    }
    if (!o.skip.has('tcp4')) {
      log('TCP, four streams');
      await runTcp(lab, paths, o, 4, pids, results);
    }
    for (const size of [64, 1400]) {
      if (o.skip.has(`udp${size}`)) continue;
      log(`UDP, ${size}-byte payloads: highest rate with <= 0.1% loss`);
      await runUdp(lab, paths, o, size, results);
    }
    for (const p of paths) {
      if (p.kind !== 'burrow') continue;
      const r = results.get(p.name)!;
      r.daemonRssMiB = Math.max(r.daemonRssMiB ?? 0, ...pids.map((pid) => memory(pid).rss));
    }
    log(`daemons used ${pids.map((pid, i) => (cpuSeconds(pid) - cpu0[i]).toFixed(1)).join(' + ')} CPU seconds; peak RSS ${pids.map((pid) => memory(pid).peak.toFixed(0)).join(', ')} MiB`);
    await lab.kill(server);
    if (!o.skip.has('control')) {
      log('control plane');
      control = await runControl(lab);
    }
  } finally {
    lab.destroy();
  }
  const finishedAt = new Date();
  const conditionsAfter = { loadAfter: loadAverage() };
  const record = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    machine: machine(),
    mode: o.quick ? 'quick' : 'full',
    rounds: o.rounds,
    plan: plan(o),
    conditions: { ...conditions, ...conditionsAfter },
    offloads: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BURROW_'))),
    results: Object.fromEntries(results),
    control,
  };
  const text = table(record.results) + (control ? '\n\n' + controlTable(control) : '');
  process.stdout.write(`\nburrow bench, ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${machine()}\n`);
  process.stdout.write(`load average ${conditions.loadBefore.join(' ')} before, ${conditionsAfter.loadAfter.join(' ')} after; ratios to kernel-vxlan, ping as the difference in us\n\n`);
  process.stdout.write(text + '\n');
  const dir = path.join(repoRoot(), 'bench', 'results');
  const out = o.out ?? path.join(dir, `${startedAt.toISOString().slice(0, 19).replace(/:/g, '')}${o.quick ? '-quick' : ''}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(record, null, 2) + '\n');
  if (o.out === null) fs.writeFileSync(path.join(dir, `latest${o.quick ? '-quick' : ''}.json`), JSON.stringify(record, null, 2) + '\n');
  log(`\nwritten: ${out}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
