/**
 * The lab's primitives: network namespaces, veth pairs, bridges, addresses, routes, sysctls and
 * processes, all owned by one `Lab` object that removes them on every exit path.
 *
 * Ownership
 * - A Lab has a unique prefix (`bwlab-<pid><random>` unless given) and names every namespace it makes
 *   `<prefix>-<name>`. Methods take the short `<name>`; `lab.nsName(name)` gives the full one.
 * - Interfaces are created directly inside the lab's namespaces (`ip -n X link add eth0 type veth peer
 *   name eth0 netns Y`), so nothing of a lab ever exists in the root namespace, even for an instant,
 *   and names inside a namespace can be plain (eth0). Deleting the namespaces deletes every interface.
 * - Every child the lab starts runs in a process group of its own (`detached`), and is killed through
 *   that group only while its leader is unreaped, so its id cannot have been reused: the lab never
 *   signals a process it did not start.
 *
 * Cleanup
 * - `destroy()` is synchronous and idempotent: kill the lab's processes (TERM, then KILL), run
 *   `<repo>/bin/burrow daemon stop --flush` in every namespace (in parallel; a namespace without a
 *   daemon is fine; a failing stop is listed in the report's errors and cleanup goes on), report any
 *   process still inside a namespace after 2 s (a daemon that would not stop: reported, never killed),
 *   delete the namespaces.
 * - Process hooks run it on `exit`, SIGINT, SIGTERM, SIGHUP and a fatal uncaught exception or
 *   rejection; after a signal the signal is raised again once no other listener is left, so the
 *   process still dies of it (exit status 130 for Ctrl-C).
 * - Spawned long-running processes do not keep the event loop alive unless awaited, so a test file that
 *   forgets `destroy()` still ends, and its `exit` hook cleans up.
 *
 * No module-level state: two Labs in one process are independent.
 */
import { spawn as spawnChild, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every lab namespace starts with this, so that `ip netns list | grep bwlab` finds them all. */
export const LAB_PREFIX = 'bwlab';

const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
/** How long destroy() lets a process exit after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 1_000;
/** Bounds `burrow daemon stop --flush` in each namespace during destroy(). */
const DAEMON_STOP_TIMEOUT_S = 15;
/** How long destroy() waits for processes it did not start to leave the namespaces (stopping daemons). */
const STRAY_GRACE_MS = 2_000;
/** Output kept per stream of a spawned process; the oldest text is dropped beyond it. */
const MAX_CAPTURE_CHARS = 16 * 1024 * 1024;
const HOOK_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface ExecOptions {
  /** Written to the command's standard input (which is otherwise empty). */
  input?: string;
  /** Killed (the whole process group, SIGKILL) after this long; default 60 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  /** The command as asked for (without the `ip netns exec NS` in front). */
  argv: string[];
  /** The full namespace name, or '' for a command run by the lab from the root namespace. */
  ns: string;
  stdout: string;
  stderr: string;
  /** Exit status; 128 + signal number when killed by a signal, as a shell reports it. */
  code: number;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DestroyReport {
  /** Full names of the namespaces deleted. */
  namespaces: string[];
  /** Pids of the lab's own processes that were still running and were killed. */
  killed: number[];
  /** Processes found inside a namespace that the lab did not start (left alone, reported). */
  strays: { ns: string; pid: number; comm: string }[];
  errors: string[];
}

export interface LabOptions {
  /** Namespace prefix; must start with `bwlab`. Default: `bwlab-<pid base36><4 hex>`. */
  prefix?: string;
  /** The burrow executable run by `burrow()` and by destroy's daemon stop; null: none. Default <repo>/bin/burrow. */
  burrow?: string | null;
  /** Where destroy() reports what it had to do on a signal or what it could not do. Default: stderr. */
  log?: (line: string) => void;
  /** Install the exit/signal/exception hooks (default true). */
  hooks?: boolean;
}

/** A command of the lab failed; carries the command's result. */
export class LabError extends Error {
  readonly result: ExecResult | undefined;
  constructor(message: string, result?: ExecResult) {
    super(message);
    this.name = 'LabError';
    this.result = result;
  }
}

export interface Endpoint {
  ns: string;
  ifname: string;
}

/** A process started by `Lab.spawn`, with its output captured. */
export class LabProcess {
  readonly pid: number;
  readonly ns: string;
  readonly argv: string[];
  stdout = '';
  stderr = '';
  private exitInfo: ProcessExit | null = null;
  private readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private refs = 0;
  private readonly listeners = new Set<() => void>();

  /** @internal use Lab.spawn */
  constructor(child: ChildProcess, ns: string, argv: string[]) {
    if (child.pid === undefined) throw new LabError(`could not start ${argv.join(' ')}`);
    this.child = child;
    this.pid = child.pid;
    this.ns = ns;
    this.argv = argv;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => { this.stdout = capped(this.stdout + s); this.notify(); });
    child.stderr?.on('data', (s: string) => { this.stderr = capped(this.stderr + s); this.notify(); });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.notify();
        resolve(this.exitInfo);
      });
    });
    this.unref();
  }

  /** True until the process has exited and been reaped. */
  get running(): boolean {
    return this.exitInfo === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get exit(): ProcessExit | null {
    return this.exitInfo;
  }

  /** Waits for the process to exit; throws a LabError after `timeoutMs` (the process keeps running). */
  async wait(timeoutMs = DEFAULT_EXEC_TIMEOUT_MS): Promise<ProcessExit> {
    if (this.exitInfo) return this.exitInfo;
    return this.holding(() => this.until(() => this.exitInfo, timeoutMs, 'exit'));
  }

  /**
   * Waits until the output (stdout, stderr or both) matches `pattern` and returns the match, for
   * "server listening" and "tcpdump: listening on" lines. Throws if the process exits first or on timeout.
   */
  async waitForOutput(
    pattern: RegExp | string,
    opts: { timeoutMs?: number; stream?: 'stdout' | 'stderr' | 'both' } = {},
  ): Promise<string> {
    const stream = opts.stream ?? 'both';
    const find = (): string | null => {
      const text = stream === 'stdout' ? this.stdout : stream === 'stderr' ? this.stderr : `${this.stdout}\n${this.stderr}`;
      if (typeof pattern === 'string') return text.includes(pattern) ? pattern : null;
      const m = pattern.exec(text);
      return m ? m[0] : null;
    };
    return this.holding(() =>
      this.until(() => {
        const found = find();
        if (found !== null) return found;
        if (this.exitInfo) {
          throw new LabError(
            `${this.argv.join(' ')} exited (${describeExit(this.exitInfo)}) before printing ${String(pattern)}\n` +
              `stdout: ${this.stdout}\nstderr: ${this.stderr}`,
          );
        }
        return null;
      }, opts.timeoutMs ?? 10_000, String(pattern)),
    );
  }

  /** Signals the process group, then SIGKILLs it if it has not exited after `graceMs`. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 3_000): Promise<ProcessExit> {
    if (!this.running) return this.exitInfo ?? (await this.exited);
    this.signalGroup(signal);
    try {
      return await this.wait(graceMs);
    } catch {
      this.signalGroup('SIGKILL');
      return this.holding(() => this.exited);
    }
  }

  /** @internal Sends `signal` to the group while the leader is unreaped (its pid cannot be reused then). */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.running) return;
    signalGroupOf(this.pid, signal);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private until<T>(probe: () => T | null, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        try {
          const value = probe();
          if (value === null) return;
          done();
          resolve(value);
        } catch (e) {
          done();
          reject(e);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new LabError(`timed out after ${timeoutMs} ms waiting for ${what} from ${this.argv.join(' ')}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Keeps the event loop alive only while someone awaits this process. */
  private async holding<T>(f: () => Promise<T>): Promise<T> {
    if (this.refs++ === 0) this.ref();
    try {
      return await f();
    } finally {
      if (--this.refs === 0) this.unref();
    }
  }

  private ref(): void {
    this.child.ref();
    (this.child.stdout as { ref?: () => void } | null)?.ref?.();
    (this.child.stderr as { ref?: () => void } | null)?.ref?.();
  }

  private unref(): void {
    this.child.unref();
    (this.child.stdout as { unref?: () => void } | null)?.unref?.();
    (this.child.stderr as { unref?: () => void } | null)?.unref?.();
  }
}

/**
 * A set of network namespaces and processes, removed together.
 * Every method that changes something throws a LabError with the failing command and its stderr.
 */
export class Lab {
  readonly prefix: string;
  readonly burrowPath: string | null;
  /** Short names of the lab's namespaces, in creation order. */
  private readonly owned: string[] = [];
  private readonly processes = new Set<LabProcess>();
  /** Short-lived children of exec(), killed by destroy() if still running. */
  private readonly running = new Set<ChildProcess>();
  private readonly log: (line: string) => void;
  private destroyed = false;
  private readonly hooks: { event: string; listener: (...args: any[]) => void }[] = [];

  constructor(opts: LabOptions = {}) {
    this.prefix = opts.prefix ?? `${LAB_PREFIX}-${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
    if (!/^bwlab[a-z0-9-]*$/.test(this.prefix) || this.prefix.endsWith('-')) {
      throw new LabError(`lab prefix must start with "${LAB_PREFIX}" and use only a-z, 0-9 and '-': "${this.prefix}"`);
    }
    this.burrowPath = opts.burrow === undefined ? join(repoRoot(), 'bin', 'burrow') : opts.burrow;
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    if (opts.hooks ?? true) this.installHooks();
  }

  /**
   * A Lab owning the namespaces that already exist under `prefix` (made by an earlier process, for
   * example `burrow lab up`), so that destroy() removes them.
   */
  static async adopt(prefix: string, opts: Omit<LabOptions, 'prefix'> = {}): Promise<Lab> {
    const lab = new Lab({ ...opts, prefix });
    for (const full of await listNamespaces(prefix)) lab.owned.push(full.slice(prefix.length + 1));
    return lab;
  }

  /** Full namespace name of the lab's namespace `name`. */
  nsName(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /** Short names of the lab's namespaces. */
  get namespaces(): readonly string[] {
    return this.owned;
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  // ---- namespaces and links ----------------------------------------------------------------

  /** Creates namespace `<prefix>-<name>` with its loopback up; returns the full name. */
  async addNamespace(name: string): Promise<string> {
    this.alive();
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new LabError(`bad namespace name "${name}"`);
    if (this.owned.includes(name)) throw new LabError(`namespace "${name}" already exists in this lab`);
    const full = this.nsName(name);
    // Owned before it exists, so that a signal arriving during `ip netns add` still removes it.
    this.owned.push(name);
    const r = await this.execRaw(['ip', 'netns', 'add', full]);
    if (r.code !== 0) {
      this.owned.splice(this.owned.indexOf(name), 1);
      throw failure(r);
    }
    await this.ip(name, ['link', 'set', 'lo', 'up']);
    return full;
  }

  /** A veth pair from `a` to `b` (different or the same namespace), created in place, both ends DOWN. */
  async addVeth(a: Endpoint, b: Endpoint, opts: { mtu?: number } = {}): Promise<void> {
    const mtu = opts.mtu === undefined ? [] : ['mtu', String(opts.mtu)];
    await this.ip(a.ns, ['link', 'add', a.ifname, ...mtu, 'type', 'veth',
      'peer', 'name', b.ifname, ...mtu, 'netns', this.full(b.ns)]);
  }

  /** A bridge without STP delay (ports forward at once). */
  async addBridge(ns: string, name: string, opts: { mtu?: number } = {}): Promise<void> {
    const mtu = opts.mtu === undefined ? [] : ['mtu', String(opts.mtu)];
    await this.ip(ns, ['link', 'add', name, ...mtu, 'type', 'bridge', 'forward_delay', '0']);
  }

  async setMaster(ns: string, ifname: string, bridge: string): Promise<void> {
    await this.ip(ns, ['link', 'set', ifname, 'master', bridge]);
  }

  async linkUp(ns: string, ifname: string): Promise<void> {
    await this.ip(ns, ['link', 'set', ifname, 'up']);
  }

  async setMtu(ns: string, ifname: string, mtu: number): Promise<void> {
    await this.ip(ns, ['link', 'set', ifname, 'mtu', String(mtu)]);
  }

  /** `cidr` like 192.168.0.1/24 or 2001:db8::1/64 (IPv6 without duplicate address detection). */
  async addAddress(ns: string, ifname: string, cidr: string): Promise<void> {
    const six = cidr.includes(':');
    await this.ip(ns, [...(six ? ['-6'] : []), 'addr', 'add', cidr, 'dev', ifname, ...(six ? ['nodad'] : [])]);
  }

  /** `to` is a prefix or 'default'; at least one of via and dev. */
  async addRoute(ns: string, to: string, opts: { via?: string; dev?: string }): Promise<void> {
    const six = to.includes(':') || (opts.via?.includes(':') ?? false);
    await this.ip(ns, [...(six ? ['-6'] : []), 'route', 'add', to,
      ...(opts.via ? ['via', opts.via] : []), ...(opts.dev ? ['dev', opts.dev] : [])]);
  }

  /** Writes a sysctl of the namespace (`net.ipv4.ip_forward`, `net.ipv4.conf.eth0.rp_filter`). */
  async setSysctl(ns: string, key: string, value: string | number): Promise<void> {
    await this.run(ns, ['sh', '-c', 'printf "%s\\n" "$2" > "$1"', 'sh', sysctlPath(key), String(value)]);
  }

  async sysctl(ns: string, key: string): Promise<string> {
    return (await this.run(ns, ['cat', sysctlPath(key)])).trim();
  }

  /** `ip -n <ns> args...`; returns stdout, throws on failure. */
  async ip(ns: string, args: string[]): Promise<string> {
    const r = await this.execRaw(['ip', '-n', this.full(ns), ...args]);
    if (r.code !== 0) throw failure(r);
    return r.stdout;
  }

  // ---- commands and processes ------------------------------------------------------------

  /** Runs argv inside the namespace and returns its result whatever its exit status. */
  async exec(ns: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const full = this.full(ns);
    const r = await this.execRaw(['ip', 'netns', 'exec', full, ...argv], opts);
    return { ...r, argv, ns: full };
  }

  /** Like exec, but throws a LabError unless the command exits 0; returns stdout. */
  async run(ns: string, argv: string[], opts: ExecOptions = {}): Promise<string> {
    const r = await this.exec(ns, argv, opts);
    if (r.code !== 0) throw failure(r);
    return r.stdout;
  }

  /** A shell script inside the namespace (`sh -c`); extra args become $1, $2, ... */
  async sh(ns: string, script: string, opts: ExecOptions & { args?: string[] } = {}): Promise<ExecResult> {
    return this.exec(ns, ['sh', '-c', script, 'sh', ...(opts.args ?? [])], opts);
  }

  /** `<burrow> args...` inside the namespace. */
  async burrow(ns: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.burrowPath === null) throw new LabError('this lab has no burrow executable');
    return this.exec(ns, [this.burrowPath, ...args], opts);
  }

  /** Starts a long-running process in the namespace (tcpdump, iperf3 -s); destroy() kills it. */
  spawn(ns: string, argv: string[], opts: { env?: NodeJS.ProcessEnv } = {}): LabProcess {
    const full = this.full(ns);
    const child = spawnChild('ip', ['netns', 'exec', full, ...argv], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    const proc = new LabProcess(child, full, argv);
    this.processes.add(proc);
    return proc;
  }

  /** Kills a process this lab started (its process group), TERM then KILL. */
  async kill(proc: LabProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<ProcessExit> {
    if (!this.processes.has(proc)) throw new LabError(`pid ${proc.pid} was not started by this lab`);
    return proc.kill(signal);
  }

  // ---- cleanup ---------------------------------------------------------------------------

  /**
   * Removes everything the lab made; synchronous so that exit hooks can run it; idempotent (a second
   * call returns an empty report).
   */
  destroy(): DestroyReport {
    const report: DestroyReport = { namespaces: [], killed: [], strays: [], errors: [] };
    if (this.destroyed) return report;
    this.destroyed = true;
    this.removeHooks();
    report.killed = this.killAllSync();

    const names = this.owned.splice(0).map((n) => this.nsName(n)).reverse();
    const existing = new Set(listNamespacesSync(this.prefix));
    const present = names.filter((n) => existing.has(n));
    if (present.length > 0 && this.burrowPath !== null && existsSync(this.burrowPath)) {
      report.errors.push(...stopDaemonsSync(this.burrowPath, present));
    }
    // A daemon told to stop may take a moment to be gone.
    const end = Date.now() + STRAY_GRACE_MS;
    while (present.some((ns) => pidsInNamespaceSync(ns).length > 0) && Date.now() < end) sleepSync(25);
    for (const ns of present) {
      for (const pid of pidsInNamespaceSync(ns)) report.strays.push({ ns, pid, comm: commOf(pid) });
      const r = spawnSync('ip', ['netns', 'del', ns], { encoding: 'utf8' });
      if (r.status === 0) report.namespaces.push(ns);
      else report.errors.push(`ip netns del ${ns}: ${(r.stderr ?? '').trim() || `exit ${r.status}`}`);
    }
    for (const s of report.strays) {
      this.log(`burrow lab: pid ${s.pid} (${s.comm}) was still in ${s.ns} after "burrow daemon stop --flush"; ` +
        'not killed (the lab did not start it); it keeps that namespace\'s interfaces alive');
    }
    for (const e of report.errors) this.log(`burrow lab: ${e}`);
    return report;
  }

  /**
   * Leaves the namespaces in place for someone else (`burrow lab up`): kills the lab's processes,
   * removes the hooks, and forgets the namespaces. `Lab.adopt(prefix)` takes them back.
   */
  detach(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.removeHooks();
    this.killAllSync();
    this.owned.splice(0);
  }

  // ---- internals -------------------------------------------------------------------------

  private alive(): void {
    if (this.destroyed) throw new LabError(`lab ${this.prefix} has been destroyed`);
  }

  private full(ns: string): string {
    this.alive();
    if (!this.owned.includes(ns)) throw new LabError(`"${ns}" is not a namespace of lab ${this.prefix}`);
    return this.nsName(ns);
  }

  /** Runs a command from the root namespace, tracked so that destroy() can kill it. */
  private execRaw(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.alive();
    return new Promise((resolve) => {
      const child = spawnChild(cmd[0], cmd.slice(1), {
        detached: true,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        env: opts.env ?? process.env,
      });
      this.running.add(child);
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      let settled = false;
      child.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
      child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
      if (opts.input !== undefined) child.stdin!.end(opts.input);
      child.stdin?.on('error', () => {}); // the command may exit without reading its input
      const timer = setTimeout(() => {
        timedOut = true;
        if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) signalGroupOf(child.pid, 'SIGKILL');
      }, opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS);
      const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.running.delete(child);
        const status = code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1);
        resolve({ argv: cmd, ns: '', stdout, stderr, code: status, signal, timedOut });
      };
      child.on('error', (e) => { stderr += `${e.message}\n`; settle(127, null); });
      child.on('close', (code, signal) => settle(code, signal));
      // A grandchild that keeps our pipes open (a daemon started by the burrow CLI) must not make us
      // wait for it: once the command itself has exited, give its output a moment and stop listening.
      child.on('exit', (code, signal) => {
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          settle(code, signal);
        }, 200).unref();
      });
    });
  }

  private killAllSync(): number[] {
    const procs = [...this.processes].filter((p) => p.running);
    const execs = [...this.running].filter((c) => c.pid !== undefined && c.exitCode === null && c.signalCode === null);
    const pids = [...procs.map((p) => p.pid), ...execs.map((c) => c.pid!)];
    if (pids.length === 0) return [];
    for (const pid of pids) signalGroupOf(pid, 'SIGTERM');
    const deadline = Date.now() + TERM_GRACE_MS;
    while (pids.some(isRunningPid) && Date.now() < deadline) sleepSync(20);
    // The leaders are at worst zombies here (we cannot reap synchronously), so their ids are still
    // ours: KILL whatever is left of each group, including children the leader left behind.
    for (const pid of pids) signalGroupOf(pid, 'SIGKILL');
    const end = Date.now() + 500;
    while (pids.some(isRunningPid) && Date.now() < end) sleepSync(10);
    return pids;
  }

  private installHooks(): void {
    const add = (event: string, listener: (...args: any[]) => void): void => {
      process.on(event as NodeJS.Signals, listener);
      this.hooks.push({ event, listener });
    };
    add('exit', () => { this.destroy(); });
    for (const sig of HOOK_SIGNALS) {
      add(sig, () => {
        const r = this.destroy();
        this.log(`burrow lab: ${sig}: removed ${r.namespaces.length} namespace(s) of ${this.prefix}`);
        // Ours is gone now; if nobody else listens, die of the signal as if we had never caught it.
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    }
    // Only when the exception is fatal: under node:test, which catches them per test, the labs of
    // the other tests must live on (the exit hook still runs at the end).
    add('uncaughtExceptionMonitor', () => {
      if (process.listenerCount('uncaughtException') === 0) this.destroy();
    });
  }

  private removeHooks(): void {
    for (const { event, listener } of this.hooks.splice(0)) process.removeListener(event, listener);
  }
}

/**
 * A Lab destroyed when the test ends, whatever its outcome: `const lab = labFor(t)` in a node:test
 * body (the process hooks remain the backstop).
 */
export function labFor(t: { after(fn: () => void): unknown }, opts: LabOptions = {}): Lab {
  const lab = new Lab(opts);
  t.after(() => { lab.destroy(); });
  return lab;
}

// ---- helpers (no state) --------------------------------------------------------------------

/** The namespaces whose names start with `<prefix>-`. */
export async function listNamespaces(prefix: string): Promise<string[]> {
  return listNamespacesSync(prefix);
}

function listNamespacesSync(prefix: string): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name.startsWith(`${prefix}-`));
}

/**
 * `burrow daemon stop --flush` in every namespace, in parallel, each bounded; returns a line per
 * namespace where it failed (exit status and output), for the destroy report.
 */
function stopDaemonsSync(burrow: string, namespaces: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'bwlab-stop-'));
  try {
    spawnSync('sh', ['-c',
      'b="$1"; t="$2"; d="$3"; shift 3; for ns in "$@"; do ' +
      '( timeout -k 2 "$t" ip netns exec "$ns" "$b" daemon stop --flush; echo "exit $?" ) >"$d/$ns" 2>&1 </dev/null & done; wait',
    'sh', burrow, String(DAEMON_STOP_TIMEOUT_S), dir, ...namespaces],
    { stdio: 'ignore', timeout: (DAEMON_STOP_TIMEOUT_S + 5) * 1000 });
    const errors: string[] = [];
    for (const ns of namespaces) {
      let text = '';
      try {
        text = readFileSync(join(dir, ns), 'utf8').trim();
      } catch {
        text = 'no result';
      }
      if (!text.endsWith('exit 0')) errors.push(`${burrow} daemon stop --flush in ${ns} failed: ${text.replaceAll('\n', ' | ')}`);
    }
    return errors;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function pidsInNamespaceSync(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter((s) => /^\d+$/.test(s)).map(Number).filter(isRunningPid);
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** Alive and not a zombie. */
export function isRunningPid(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signalGroupOf(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function sysctlPath(key: string): string {
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/.test(key)) throw new LabError(`bad sysctl name "${key}"`);
  return `/proc/sys/${key.replaceAll('.', '/')}`;
}

function capped(s: string): string {
  return s.length > MAX_CAPTURE_CHARS ? s.slice(s.length - MAX_CAPTURE_CHARS) : s;
}

function describeExit(e: ProcessExit): string {
  return e.signal ? `signal ${e.signal}` : `exit ${e.code}`;
}

function failure(r: ExecResult): LabError {
  const where = r.ns ? `[${r.ns}] ` : '';
  const why = r.timedOut ? 'timed out' : `exit ${r.code}`;
  return new LabError(`${where}${r.argv.join(' ')}: ${why}: ${r.stderr.trim() || r.stdout.trim()}`, r);
}

/** The checkout this module belongs to (the nearest package.json named burrow above it). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'burrow') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new LabError('cannot find the burrow checkout above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The lab's own view of whether it can run: root, and `ip` present. Returns why not, or null. */
export function labUnavailableReason(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root: network namespaces';
  const r = spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) return 'needs iproute2 (ip netns)';
  return null;
}
