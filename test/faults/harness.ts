/**
 * The fault suite's vocabulary (reliability.md section 6): scenarios that watch the daemons of some lab
 * namespaces, a ledger that must reconcile exactly (sent = delivered + losses by reason), burrow's
 * counters read three ways (`-s -s` text, `-s -s -j`, `daemon status`) and checked to agree, the
 * kernel's own counters for what never reaches burrow, leak snapshots, and packet injection.
 *
 * A scenario records what it did (report.ts); the suite's last file prints the summary.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { it } from 'node:test';
import { clientAt } from '../../src/control/client.js';
import type { Request, ResultOf } from '../../src/control/protocol.js';
import type { Lab } from '../../src/lab/netns.js';
import { daemonPaths } from '../../src/control/paths.js';
import { bind, close as closeFd, constants, ifNameToIndex, inNetns, netnsCookie, send, socket } from '../../src/io/native/index.js';
import { ALL_DROP_REASONS, DROP_REASONS } from '../../src/tunnel/drop.js';
import { writeRecord, type ScenarioRecord } from './report.js';

// ---------------------------------------------------------------------------------------------------
// burrow's counters, three ways

export interface TunnelCounters {
  rx: { packets: number; bytes: number; errors: number; frame: number; fifo: number; multicast: number };
  tx: { packets: number; bytes: number; errors: number; collisions: number; carrier: number; dropped: number };
  drops: Record<string, number>;
}

export interface Counters {
  /** Every tunnel's (`burrow tunnel show`) and every vxlan device's (`burrow link show`), by name. */
  tunnels: Map<string, TunnelCounters>;
  /** Drops no tunnel was charged with (`burrow daemon status`). */
  uncharged: Record<string, number>;
}

export async function burrowOut(lab: Lab, ns: string, args: string[]): Promise<string> {
  const r = await lab.burrow(ns, args);
  // A daemon that would not start: the end of its log says why.
  const log = /see (\S+daemon\.log)\)/.exec(r.stderr)?.[1];
  const why = r.code !== 0 && log ? `\n${log} ends:\n${readFrom(log, Math.max(0, fileSize(log) - 2000))}` : '';
  assert.equal(r.code, 0, `burrow ${args.join(' ')} in ${ns}: exit ${r.code}\n${r.stderr}${why}`);
  assert.doesNotMatch(r.stderr, /internal error/, 'no internal error');
  return r.stdout;
}

/** Numbers of the `-s -s` text, per tunnel. */
function parseStatsText(text: string): Map<string, TunnelCounters> {
  const out = new Map<string, TunnelCounters>();
  const lines = text.split('\n');
  let name: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const head = /^([^\s:]+): /.exec(lines[i]);
    if (head && !lines[i].startsWith('RX:') && !lines[i].startsWith('TX:') && !lines[i].startsWith('Drops:')) {
      name = head[1];
      continue;
    }
    if (name === null) continue;
    const n = (j: number): number[] => lines[j].trim().split(/\s+/).map(Number);
    if (lines[i].startsWith('RX:')) {
      const [packets, bytes, errors, frame, fifo, multicast] = n(i + 1);
      out.set(name, { rx: { packets, bytes, errors, frame, fifo, multicast }, tx: undefined as never, drops: {} });
    } else if (lines[i].startsWith('TX:')) {
      const [packets, bytes, errors, collisions, carrier, dropped] = n(i + 1);
      out.get(name)!.tx = { packets, bytes, errors, collisions, carrier, dropped };
    } else if (lines[i].startsWith('Drops: ')) {
      for (const part of lines[i].slice(7).split(', ')) {
        const [reason, count] = part.split(' ');
        out.get(name)!.drops[reason] = Number(count);
      }
    }
  }
  return out;
}

/** Numbers of the `-s -s link show` text (print_stats64 rows and burrow's Drops line), per vxlan device. */
function parseLinkStatsText(text: string): Map<string, TunnelCounters> {
  const out = new Map<string, TunnelCounters>();
  const lines = text.split('\n');
  const row = (j: number): number[] => lines[j].trim().split(/\s+/).map(Number);
  let c: TunnelCounters | null = null;
  for (let i = 0; i < lines.length; i++) {
    const head = /^\d+: ([^\s:@]+)[:@]/.exec(lines[i]);
    const line = lines[i].trim();
    if (head) {
      c = { rx: { packets: 0, bytes: 0, errors: 0, frame: 0, fifo: 0, multicast: 0 }, tx: { packets: 0, bytes: 0, errors: 0, collisions: 0, carrier: 0, dropped: 0 }, drops: {} };
      out.set(head[1], c);
    } else if (c === null) {
      continue;
    } else if (line.startsWith('RX: ')) {
      const [bytes, packets, errors, , , multicast] = row(i + 1);
      Object.assign(c.rx, { bytes, packets, errors, multicast });
    } else if (line.startsWith('RX errors:')) {
      const [, , frame, fifo] = row(i + 1);
      Object.assign(c.rx, { frame, fifo });
    } else if (line.startsWith('TX: ')) {
      const [bytes, packets, errors, dropped, carrier, collisions] = row(i + 1);
      Object.assign(c.tx, { bytes, packets, errors, dropped, carrier, collisions });
    } else if (line.startsWith('Drops: ')) {
      for (const part of line.slice(7).split(', ')) c.drops[part.split(' ')[0]] = Number(part.split(' ')[1]);
    }
  }
  return out;
}

interface Stats64 {
  rx: { packets: number; bytes: number; errors: number; frame_errors: number; fifo_errors: number; multicast: number };
  tx: { packets: number; bytes: number; errors: number; collisions: number; carrier_errors: number; dropped: number };
}

/** One request to the daemon of a lab namespace over its control socket (quicker than the CLI). */
export function control<K extends Request['op']>(lab: Lab, ns: string, request: Extract<Request, { op: K }>): Promise<ResultOf[K]> {
  return clientAt(daemonFiles(lab, ns).socket).request(request);
}

/** Every tunnel's and vxlan device's counters and the uncharged drops, from the daemon over its socket. */
export async function readCounters(lab: Lab, ns: string): Promise<Counters> {
  const list = [...(await control(lab, ns, { op: 'tunnel.list' })), ...(await control(lab, ns, { op: 'link.list' }))];
  const status = await control(lab, ns, { op: 'daemon.status' });
  const tunnels = new Map<string, TunnelCounters>();
  for (const t of list) {
    const s = t.stats;
    tunnels.set(t.params.name, {
      rx: { packets: s.rxPackets, bytes: s.rxBytes, errors: s.rxErrors, frame: s.rxFrameErrors, fifo: s.rxFifoErrors, multicast: s.multicast },
      tx: { packets: s.txPackets, bytes: s.txBytes, errors: s.txErrors, collisions: s.collisions, carrier: s.txCarrierErrors, dropped: s.txDropped },
      drops: t.drops,
    });
  }
  return { tunnels, uncharged: status.drops };
}

/**
 * Every tunnel's and vxlan device's counters as the command line shows them: `burrow -s -s -j tunnel
 * show` and `burrow -s -s -j link show`, checked against the `-s -s` texts and the daemon's own answer
 * (read around them, so they may only be between).
 */
export async function readCountersCli(lab: Lab, ns: string): Promise<Counters> {
  const first = await readCounters(lab, ns);
  type Shown = Array<{ ifname: string; stats64: Stats64; drops: Record<string, number> }>;
  const json = [
    ...(JSON.parse(await burrowOut(lab, ns, ['-s', '-s', '-j', 'tunnel', 'show'])) as Shown),
    ...(JSON.parse((await burrowOut(lab, ns, ['-s', '-s', '-j', 'link', 'show'])) || '[]') as Shown),
  ];
  const text = parseStatsText(await burrowOut(lab, ns, ['-s', '-s', 'tunnel', 'show']));
  for (const [name, c] of parseLinkStatsText(await burrowOut(lab, ns, ['-s', '-s', 'link', 'show']))) text.set(name, c);
  const tunnels = new Map<string, TunnelCounters>();
  for (const t of json) {
    const s = t.stats64;
    const c: TunnelCounters = {
      rx: { packets: s.rx.packets, bytes: s.rx.bytes, errors: s.rx.errors, frame: s.rx.frame_errors, fifo: s.rx.fifo_errors, multicast: s.rx.multicast },
      tx: { packets: s.tx.packets, bytes: s.tx.bytes, errors: s.tx.errors, collisions: s.tx.collisions, carrier: s.tx.carrier_errors, dropped: s.tx.dropped },
      drops: t.drops,
    };
    tunnels.set(t.ifname, c);
  }
  // The same numbers in text: read after the JSON, so a counter may only have grown in between.
  assert.deepEqual([...text.keys()].sort(), [...tunnels.keys()].sort(), 'text and JSON list the same tunnels');
  for (const [name, c] of tunnels) {
    const t = text.get(name)!;
    for (const side of ['rx', 'tx'] as const) {
      for (const [k, v] of Object.entries(c[side])) assert.ok((t[side] as Record<string, number>)[k] >= v, `${ns} ${name} ${side}.${k}: text ${(t[side] as Record<string, number>)[k]} < JSON ${v}`);
    }
    for (const [reason, v] of Object.entries(c.drops)) assert.ok((t.drops[reason] ?? 0) >= v, `${ns} ${name} drop ${reason}`);
  }
  const status = await burrowOut(lab, ns, ['daemon', 'status']);
  const uncharged: Record<string, number> = {};
  for (const m of status.matchAll(/^drop ([a-z0-9-]+): (\d+)$/gm)) uncharged[m[1]] = Number(m[2]);
  const last = await readCounters(lab, ns);
  const within = (what: string, low: number, x: number, high: number): void => assert.ok(low <= x && x <= high, `${ns} ${what}: ${low} <= ${x} <= ${high}`);
  for (const [name, c] of tunnels) {
    const lo = first.tunnels.get(name);
    const hi = last.tunnels.get(name);
    if (!lo || !hi) continue;
    for (const side of ['rx', 'tx'] as const) {
      for (const [k, v] of Object.entries(c[side])) within(`${name} ${side}.${k}`, (lo[side] as Record<string, number>)[k], v, (hi[side] as Record<string, number>)[k]);
    }
  }
  for (const [reason, n] of Object.entries(uncharged)) within(`daemon status drop ${reason}`, first.uncharged[reason] ?? 0, n, last.uncharged[reason] ?? 0);
  return { tunnels, uncharged };
}

/** Reads the counters until two reads in a row agree (the engine has caught up), then returns them. */
export async function settledCounters(lab: Lab, ns: string, timeoutMs = 5000): Promise<Counters> {
  const deadline = Date.now() + timeoutMs;
  let last = JSON.stringify(serialise(await readCounters(lab, ns)));
  for (;;) {
    await sleep(150);
    const now = await readCounters(lab, ns);
    const text = JSON.stringify(serialise(now));
    if (text === last || Date.now() > deadline) return now;
    last = text;
  }
}

function serialise(c: Counters): unknown {
  return [[...c.tunnels].sort(), c.uncharged];
}

/** Drops by reason that happened between two reads (tunnels in both, or new ones; and uncharged). */
export function dropDelta(before: Counters, after: Counters): Record<string, number> {
  const delta: Record<string, number> = {};
  const add = (reason: string, n: number): void => {
    if (n !== 0) delta[reason] = (delta[reason] ?? 0) + n;
  };
  for (const [name, t] of after.tunnels) {
    const b = before.tunnels.get(name);
    for (const [reason, n] of Object.entries(t.drops)) add(reason, n - (b?.drops[reason] ?? 0));
  }
  for (const [reason, n] of Object.entries(after.uncharged)) add(reason, n - (before.uncharged[reason] ?? 0));
  return delta;
}

export function tunnelDelta(before: Counters, after: Counters, name: string): TunnelCounters {
  const a = after.tunnels.get(name);
  assert.ok(a, `tunnel ${name} is listed`);
  const b = before.tunnels.get(name);
  const sub = <T extends Record<string, number>>(x: T, y: T | undefined): T =>
    Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v - (y?.[k] ?? 0)])) as T;
  const drops: Record<string, number> = {};
  for (const [reason, n] of Object.entries(a.drops)) if (n - (b?.drops[reason] ?? 0) !== 0) drops[reason] = n - (b?.drops[reason] ?? 0);
  return { rx: sub(a.rx, b?.rx), tx: sub(a.tx, b?.tx), drops };
}

// ---------------------------------------------------------------------------------------------------
// The kernel's counters

/** /proc/net/snmp and /proc/net/netstat of a namespace as `Ip.InHdrErrors`, `IpExt.InTruncatedPkts`, ... */
export async function kernelCounters(lab: Lab, ns: string): Promise<Record<string, number>> {
  const text = await lab.run(ns, ['cat', '/proc/net/snmp', '/proc/net/netstat']);
  const out: Record<string, number> = {};
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i].split(/\s+/);
    const values = lines[i + 1].split(/\s+/);
    const group = names[0].replace(/:$/, '');
    for (let k = 1; k < names.length; k++) if (names[k] !== '') out[`${group}.${names[k]}`] = Number(values[k]);
  }
  return out;
}

export function counterDelta(before: Record<string, number>, after: Record<string, number>, name: string): number {
  assert.ok(name in after, `kernel counter ${name}`);
  return after[name] - (before[name] ?? 0);
}

/** Packets raw sockets of the namespace dropped (a full receive buffer), per IP protocol. */
export async function rawDrops(lab: Lab, ns: string): Promise<Record<number, number>> {
  const text = await lab.run(ns, ['cat', '/proc/net/raw']);
  const out: Record<number, number> = {};
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const protocol = parseInt(f[1].split(':')[1], 16);
    out[protocol] = (out[protocol] ?? 0) + Number(f[f.length - 1]);
  }
  return out;
}

export interface LinkStats {
  rx: { packets: number; bytes: number; dropped: number };
  tx: { packets: number; bytes: number; dropped: number };
}

/** `ip -s -j link show DEV` in a namespace. */
export async function linkStats(lab: Lab, ns: string, dev: string): Promise<LinkStats> {
  const [link] = JSON.parse(await lab.ip(ns, ['-s', '-j', 'link', 'show', 'dev', dev])) as Array<{ stats64: LinkStats }>;
  return link.stats64;
}

/** The in_martian_src column of /proc/net/stat/rt_cache, summed over CPUs (a machine-wide counter). */
export function martianSources(): number {
  const lines = fs.readFileSync('/proc/net/stat/rt_cache', 'utf8').trim().split('\n');
  const column = lines[0].trim().split(/\s+/).indexOf('in_martian_src');
  return lines.slice(1).reduce((n, l) => n + parseInt(l.trim().split(/\s+/)[column], 16), 0);
}

// ---------------------------------------------------------------------------------------------------
// Daemons: pid, files, leaks

export async function daemonPid(lab: Lab, ns: string): Promise<number> {
  return (await control(lab, ns, { op: 'daemon.status' })).pid;
}

/** The files of the daemon of a lab namespace (socket, log, state...). */
export function daemonFiles(lab: Lab, ns: string): ReturnType<typeof daemonPaths> {
  const cookie = inNetns(`/run/netns/${lab.nsName(ns)}`, () => netnsCookie());
  return daemonPaths(cookie);
}

export interface Snapshot {
  pid: number;
  /** The daemon's open files, as kinds (`socket`, `/dev/net/tun`, `anon_inode:[eventpoll]`, ...). */
  fds: string[];
  rssKiB: number;
  devices: string[];
  routes: string[];
  addresses: string[];
}

function fdKinds(pid: number): string[] {
  const kinds: string[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      kinds.push(fs.readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/^(socket|pipe):\[\d+\]$/, '$1'));
    } catch {
      // closed meanwhile
    }
  }
  return kinds.sort();
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

export async function snapshot(lab: Lab, ns: string): Promise<Snapshot> {
  const pid = await daemonPid(lab, ns);
  const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter(Boolean).sort();
  return {
    pid,
    fds: fdKinds(pid),
    rssKiB: rssKiB(pid),
    devices: lines(await lab.ip(ns, ['-o', 'link', 'show'])).map((l) => l.replace(/^\d+: /, '').split(/[:@]/)[0]),
    routes: lines((await lab.ip(ns, ['route', 'show', 'table', 'all'])) + (await lab.ip(ns, ['-6', 'route', 'show', 'table', 'all']))),
    addresses: lines(await lab.ip(ns, ['-o', 'addr', 'show'])).map((l) => l.replace(/\s+valid_lft.*$/, '')),
  };
}

/** RSS the daemon may gain during one scenario before it counts as a leak (V8's heap breathes). */
export const RSS_SLACK_KIB = 48 * 1024;

/** What differs between two snapshots: each a leak (or, if negative, something lost). */
export function compareSnapshots(ns: string, before: Snapshot, after: Snapshot, rssSlackKiB = RSS_SLACK_KIB): string[] {
  const out: string[] = [];
  const diff = (what: string, a: string[], b: string[]): void => {
    const left = [...a];
    const extra: string[] = [];
    for (const x of b) {
      const i = left.indexOf(x);
      if (i >= 0) left.splice(i, 1);
      else extra.push(x);
    }
    if (extra.length > 0) out.push(`${ns}: ${what} gained ${extra.join(', ')}`);
    if (left.length > 0) out.push(`${ns}: ${what} lost ${left.join(', ')}`);
  };
  diff('daemon fds', before.fds, after.fds);
  diff('devices', before.devices, after.devices);
  diff('routes', before.routes, after.routes);
  diff('addresses', before.addresses, after.addresses);
  if (after.rssKiB - before.rssKiB > rssSlackKiB) out.push(`${ns}: daemon RSS grew ${before.rssKiB} -> ${after.rssKiB} KiB`);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The ledger

/**
 * What a scenario's traffic generator sent and what became of each packet: delivered, or lost for a
 * reason (a burrow drop reason, or `kernel:<counter>` for a drop the kernel counted).
 */
export class Ledger {
  sent = 0;
  delivered = 0;
  readonly explained: Record<string, number> = {};

  constructor(readonly what: string) {}

  explain(reason: string, n: number): this {
    if (n !== 0) this.explained[reason] = (this.explained[reason] ?? 0) + n;
    return this;
  }

  /** Adds every drop of a delta. */
  explainAll(drops: Record<string, number>): this {
    for (const [reason, n] of Object.entries(drops)) this.explain(reason, n);
    return this;
  }

  get lost(): number {
    return Object.values(this.explained).reduce((a, b) => a + b, 0);
  }

  get unexplained(): number {
    return this.sent - this.delivered - this.lost;
  }

  /** sent = delivered + losses by reason, exactly. */
  reconcile(): void {
    assert.equal(
      this.unexplained,
      0,
      `${this.what}: sent ${this.sent} = delivered ${this.delivered} + lost ${JSON.stringify(this.explained)} does not hold`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Scenarios

export interface ScenarioContext {
  lab: Lab;
  /** A ledger whose numbers go into the record; reconcile() it. */
  ledger(what: string): Ledger;
  /** Counts bad inputs (packets, argument vectors, requests) the scenario tried. */
  badInputs(n: number): void;
  /** Marks drop reasons as exercised (the counter deltas of watched namespaces are added anyway). */
  exercised(reasons: Iterable<string>): void;
  recovered(ms: number): void;
}

export interface ScenarioOptions {
  /** Namespaces whose daemons are watched: alive throughout, no leak, counters read before and after. */
  watch: string[];
  /** The scenario stops or kills daemons itself: their pids may change. */
  restarts?: boolean;
  /** Extra RSS slack for this scenario. */
  rssSlackKiB?: number;
  timeoutMs?: number;
}

/** Daemon log lines that mean a bug: the control server's `bug:` lines, or a Node crash on stderr. */
const CRASH_LINE = / error bug:|^\S*Error\b|^\s+at |FATAL|Aborted|Segmentation/;

/** A node:test case that records its outcome for the summary. */
export function scenario(group: string, name: string, lab: () => Lab, options: ScenarioOptions, body: (s: ScenarioContext) => Promise<void>): void {
  it(name, { timeout: options.timeoutMs ?? 120_000 }, async () => {
    const l = lab();
    const started = Date.now();
    const ledgers: Ledger[] = [];
    const reasons = new Set<string>();
    let badInputs = 0;
    let recoveryMs: number | undefined;
    const crashes: string[] = [];
    const before = new Map<string, { snap: Snapshot; counters: Counters; logSize: number }>();
    for (const ns of options.watch) {
      if (!(await control(l, ns, { op: 'daemon.status' }).then(() => true, () => false))) await burrowOut(l, ns, ['daemon', 'start']);
      const log = daemonFiles(l, ns).log;
      before.set(ns, { snap: await snapshot(l, ns), counters: await readCounters(l, ns), logSize: fileSize(log) });
    }
    let error: unknown = null;
    try {
      await body({
        lab: l,
        ledger: (what) => {
          const ledger = new Ledger(what);
          ledgers.push(ledger);
          return ledger;
        },
        badInputs: (n) => (badInputs += n),
        exercised: (list) => {
          for (const r of list) reasons.add(r);
        },
        recovered: (ms) => (recoveryMs = ms),
      });
    } catch (e) {
      error = e;
    }
    const leaks: string[] = [];
    for (const ns of options.watch) {
      const b = before.get(ns)!;
      const log = daemonFiles(l, ns).log;
      if (!options.restarts && !alive(b.snap.pid)) crashes.push(`${ns}: daemon ${b.snap.pid} died`);
      for (const line of readFrom(log, b.logSize).split('\n')) if (CRASH_LINE.test(line)) crashes.push(`${ns}: ${line}`);
      try {
        await settledCounters(l, ns, 2000);
        const after = await snapshot(l, ns);
        if (!options.restarts && after.pid !== b.snap.pid) crashes.push(`${ns}: daemon ${b.snap.pid} was replaced by ${after.pid}`);
        // The same numbers three ways: -s -s text, -s -s -j and daemon status (and the socket around them).
        const counters = await readCountersCli(l, ns);
        for (const [reason, n] of Object.entries(dropDelta(b.counters, counters))) if (n > 0) reasons.add(reason);
        leaks.push(...compareSnapshots(ns, options.restarts ? { ...b.snap, fds: after.fds, rssKiB: after.rssKiB } : b.snap, after, options.rssSlackKiB));
      } catch (e) {
        error ??= e;
      }
    }
    for (const ledger of ledgers) for (const r of Object.keys(ledger.explained)) if (ALL_DROP_REASONS.includes(r as never)) reasons.add(r);
    const record: ScenarioRecord = {
      group,
      name,
      passed: error === null && crashes.length === 0 && leaks.length === 0 && ledgers.every((x) => x.unexplained === 0),
      ...(error !== null ? { error: String((error as Error).message ?? error).slice(0, 2000) } : {}),
      sent: ledgers.reduce((n, x) => n + x.sent, 0),
      delivered: ledgers.reduce((n, x) => n + x.delivered, 0),
      explained: ledgers.reduce<Record<string, number>>((acc, x) => {
        for (const [k, v] of Object.entries(x.explained)) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {}),
      unexplained: ledgers.reduce((n, x) => n + Math.abs(x.unexplained), 0),
      badInputs,
      reasons: [...reasons].sort(),
      crashes,
      leaks,
      ...(recoveryMs !== undefined ? { recoveryMs } : {}),
      ms: Date.now() - started,
    };
    writeRecord(record);
    if (error !== null) throw error;
    assert.deepEqual(crashes, [], 'no daemon died or logged a bug');
    assert.deepEqual(leaks, [], 'nothing leaked');
    for (const ledger of ledgers) ledger.reconcile();
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readFrom(file: string, offset: number): string {
  try {
    return fs.readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns true or `timeoutMs` passes; returns how long it took (or -1). */
export async function until(probe: () => Promise<boolean> | boolean, timeoutMs = 5000, stepMs = 25): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await probe()) return Date.now() - start;
    await sleep(stepMs);
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------------
// Frames on a link, below IP (for the headers a raw socket would repair)

/** The MAC address of an interface in a lab namespace. */
export async function macOf(lab: Lab, ns: string, dev: string): Promise<Uint8Array> {
  const [link] = JSON.parse(await lab.ip(ns, ['-j', 'link', 'show', 'dev', dev])) as Array<{ address: string }>;
  return Uint8Array.from(link.address.split(':').map((h) => parseInt(h, 16)));
}

/**
 * Sends each packet as it is from a packet socket on `dev` in namespace `ns`: with an Ethernet header
 * (to `dst` from `src`, type IPv4) when both are given, bare otherwise (a TUN device). Nothing is
 * repaired on the way: bad checksums, short frames and wrong lengths leave as given. Returns how many
 * were sent.
 */
export function sendFrames(lab: Lab, ns: string, dev: string, packets: readonly Uint8Array[], dst?: Uint8Array, src?: Uint8Array): number {
  return inNetns(`/run/netns/${lab.nsName(ns)}`, () => {
    const c = constants();
    const fd = socket(c.AF_PACKET, c.SOCK_RAW, 0);
    try {
      // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8].
      const sll = Buffer.alloc(20);
      sll.writeUInt16LE(c.AF_PACKET, 0);
      sll.writeUInt16BE(0x0800, 2);
      sll.writeInt32LE(ifNameToIndex(dev), 4);
      bind(fd, sll);
      let sent = 0;
      for (const p of packets) {
        const frame = dst && src ? Buffer.concat([dst, src, Buffer.from([0x08, 0x00]), p]) : Buffer.from(p);
        for (let attempt = 0; attempt < 1000; attempt++) {
          const r = send(fd, frame, 0, frame.length);
          if (r >= 0) {
            sent++;
            break;
          }
          // A full device queue: wait for it to drain (synchronously: we are inside the namespace).
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        }
      }
      return sent;
    } finally {
      closeFd(fd);
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Transmit: what the kernel routed into a tunnel device against what burrow made of it

const TX_REASONS = new Set(
  Object.entries(DROP_REASONS)
    .filter(([, spec]) => (spec.counters as readonly string[]).some((c) => c === 'txErrors' || c === 'txDropped'))
    .map(([reason]) => reason),
);

export interface TxPoint {
  counters: Counters;
  device: LinkStats;
}

/**
 * burrow's counters and the tunnel device's own (the kernel counts what burrow read from it), read
 * when they hold still: the device's count the same before and after burrow's.
 */
export async function txPoint(lab: Lab, ns: string, dev: string): Promise<TxPoint> {
  for (let attempt = 0; ; attempt++) {
    const device = await linkStats(lab, ns, dev);
    await sleep(50);
    const counters = await readCounters(lab, ns);
    const again = await linkStats(lab, ns, dev);
    if ((again.tx.packets === device.tx.packets && again.tx.dropped === device.tx.dropped) || attempt === 20) return { counters, device };
  }
}

/**
 * Fills a ledger for a tunnel's transmit side: sent = packets the kernel routed into the device (its TX
 * counter, which moves as burrow reads them) plus what its queue dropped; delivered = packets burrow
 * sent on; explained = burrow's transmit drops and the device queue's drops.
 */
export function fillTxLedger(ledger: Ledger, dev: string, before: TxPoint, after: TxPoint): Ledger {
  const queueDrops = after.device.tx.dropped - before.device.tx.dropped;
  ledger.sent += after.device.tx.packets - before.device.tx.packets + queueDrops;
  const t = tunnelDelta(before.counters, after.counters, dev);
  ledger.delivered += t.tx.packets;
  for (const [reason, n] of Object.entries(t.drops)) if (TX_REASONS.has(reason)) ledger.explain(reason, n);
  ledger.explain('kernel:tun queue full', queueDrops);
  return ledger;
}

/** The counters in a daemon log line (`... rx P packets B bytes E errors, tx ..., drops: reason N, ...`). */
export function loggedCounters(line: string): { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number; drops: Record<string, number> } {
  const m = /rx (\d+) packets (\d+) bytes \d+ errors, tx (\d+) packets (\d+) bytes \d+ errors, drops: (.*)$/.exec(line);
  assert.ok(m, `no counters in: ${line}`);
  const drops: Record<string, number> = {};
  if (m[5] !== 'none') for (const part of m[5].split(', ')) drops[part.split(' ')[0]] = Number(part.split(' ')[1]);
  return { rxPackets: Number(m[1]), rxBytes: Number(m[2]), txPackets: Number(m[3]), txBytes: Number(m[4]), drops };
}
