/**
 * A real Linux kernel as a test peer: Debian's stock kernel (which has the ipip, gre, sit and vti
 * drivers this machine's kernel lacks) booted under qemu, its virtio NIC a tap inside a network
 * namespace of this machine.
 *
 *   const peer = await KernelPeer.boot({ netns: 'bwqB', hostAddress: '192.0.2.1/24', guestAddress: '192.0.2.2/24' });
 *   const r = await peer.run('ip tunnel add t1 mode gre remote 192.0.2.1 local 192.0.2.2 key 5');
 *   // r = { stdout, stderr, code }
 *   const cap = await peer.spawn('tcpdump -ni eth0 -c 1 ip proto 47');   // runs in the background
 *   ...
 *   await cap.stop();  // SIGINT, then its { stdout, stderr, code }
 *   await peer.close(); // kills qemu (by the pid started here), removes the tap and temp files
 *
 * The guest runs this machine's own binaries (its root is shared read-only over 9p; guest-image.ts
 * says how), so `ip` in the guest is this machine's iproute2 talking to the guest's 6.1 kernel.
 *
 * Commands travel over a virtio-serial port, not the console: one line per request and one per
 * answer (the protocol is in guest-image.ts), so kernel messages on the console can never corrupt an
 * answer. The console is kept in memory and shown when boot fails (`consoleText()`).
 *
 * Cleanup: close() releases everything; cleanup.ts undoes whatever is left on exit, exceptions and
 * SIGINT/SIGTERM/SIGHUP; and qemu gets SIGKILL from the kernel if the test process dies by SIGKILL
 * (setpriv --pdeathsig), so no qemu outlives its test.
 */
import { spawn as spawnProcess, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from './cleanup.js';
import {
  AGENT_PORT_NAME, GUEST_BUSYBOX, HOST_ROOT_TAG, bootableKernel, buildInitramfs, findGuestKernel, findStaticBusybox,
  repoRoot,
} from './guest-image.js';
import { alive, sh, uniqueName } from './netns.js';

export interface KernelPeerOptions {
  /** Host network namespace (already made) that will hold the guest's tap. */
  netns: string;
  /**
   * Tap name on the host side (default `bwqt<pid base 36><n>`). qemu makes it, not persistent, so it
   * disappears with qemu however qemu ends.
   */
  tap?: string;
  /** Address with prefix for the tap, e.g. `192.0.2.1/24`. */
  hostAddress?: string;
  /** Name of the guest's NIC (default eth0; another name renames it). */
  ifname?: string;
  /** Address with prefix for the guest's NIC, e.g. `192.0.2.2/24`. */
  guestAddress?: string;
  /** MAC of the guest's NIC (default 52:54:00 plus three random bytes). */
  mac?: string;
  /** Guest memory in MiB (default 512). */
  memoryMb?: number;
  /**
   * qemu accelerator: tcg (default; BURROW_INTEROP_ACCEL overrides). kvm hangs on the nested
   * virtualisation of these machines, so it is only for machines where it is known to work.
   */
  accel?: 'tcg' | 'kvm';
  /** Path of the guest kernel (default: newest /boot/vmlinuz-*-amd64 with modules; BURROW_INTEROP_KERNEL). */
  kernel?: string;
  /**
   * Boot the kernel's uncompressed ELF through its PVH entry (default; about 4 s faster under
   * software emulation) rather than the bzImage. BURROW_INTEROP_PVH=0 turns it off.
   */
  pvh?: boolean;
  /** Extra modules to load before the chroot (others load on demand). */
  extraModules?: string[];
  /** Give up booting after this long (default 180 s: software emulation on a busy CI machine). */
  bootTimeoutMs?: number;
  /** Called with every console line (BURROW_INTEROP_VERBOSE=1 prints them to stderr). */
  onConsole?: (line: string) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Kill the command after this long (default 30 s); the result then has code 143 (SIGTERM) or 137. */
  timeoutMs?: number;
}

/** Timings measured during boot, in milliseconds. */
export interface BootTimes {
  /** Building or finding the initramfs. */
  image: number;
  /** From starting qemu to the agent's READY. */
  boot: number;
  /** Guest network setup after READY. */
  setup: number;
}

const CONSOLE_KEEP = 64 * 1024;
/** busybox in the guest: its applets start far faster than this machine's dynamically linked tools. */
const BB = GUEST_BUSYBOX;
/** Extra time the host waits beyond a command's own timeout before declaring the guest stuck. */
const HOST_GRACE_MS = 15_000;

class AgentClient {
  private buffer = '';
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private pending: { id: number; resolve: (r: RunResult) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private readyWaiter: ((release: string) => void) | null = null;
  private readyRelease: string | null = null;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new Error(`agent socket: ${err.message}`)));
    socket.on('close', () => this.fail(new Error('agent connection closed')));
  }

  ready(): Promise<string> {
    if (this.readyRelease !== null) return Promise.resolve(this.readyRelease);
    return new Promise((resolve) => (this.readyWaiter = resolve));
  }

  /** Ends the connection and fails whatever is pending. */
  destroy(err: Error): void {
    this.fail(err);
    this.socket.destroy();
  }

  fail(err: Error): void {
    if (this.failure === null) this.failure = err;
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }

  /** Runs one script; requests are sent one at a time so a timeout counts only the script's own time. */
  run(script: string, timeoutMs: number): Promise<RunResult> {
    const next = this.queue.then(() => this.send(script, timeoutMs));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private send(script: string, timeoutMs: number): Promise<RunResult> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    const seconds = Math.max(0.1, timeoutMs / 1000).toFixed(1);
    return new Promise<RunResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new Error(`guest did not answer request ${id} within ${timeoutMs + HOST_GRACE_MS} ms: ${script}`));
      }, timeoutMs + HOST_GRACE_MS);
      this.pending = {
        id,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.socket.write(`${id} ${seconds} ${Buffer.from(script).toString('base64')}\n`);
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) return;
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    const f = line.split(' ');
    if (f[0] === 'READY') {
      this.readyRelease = f[1] ?? '';
      this.readyWaiter?.(this.readyRelease);
      this.readyWaiter = null;
    } else if (f[0] === 'DONE' && f.length === 5) {
      const p = this.pending;
      if (p === null || String(p.id) !== f[1]) {
        this.fail(new Error(`agent answered an unexpected request: ${line.slice(0, 80)}`));
        return;
      }
      this.pending = null;
      p.resolve({
        code: Number(f[2]),
        stdout: Buffer.from(f[3], 'base64').toString('utf8'),
        stderr: Buffer.from(f[4], 'base64').toString('utf8'),
      });
    } else if (line !== '') {
      this.fail(new Error(`agent sent an unreadable line: ${line.slice(0, 80)}`));
    }
  }
}

/**
 * A script running in the background in the guest, in a session and process group of its own.
 * It is started with util-linux `setsid -f` rather than the shell's `&`, because a non-interactive
 * shell starts `&` jobs with SIGINT ignored, and that would make `stop()` unable to end tcpdump.
 */
export class GuestProcess {
  constructor(
    private readonly peer: KernelPeer,
    /** Process-group id in the guest (the wrapper shell's pid). */
    readonly pid: number,
    private readonly dir: string,
  ) {}

  /** Sends a signal (name without SIG) to the whole process group; the wrapper survives INT/TERM/HUP. */
  async signal(signal = 'TERM'): Promise<void> {
    await this.peer.run(`kill -${signal} -${this.pid} 2>/dev/null; true`);
  }

  /**
   * Its output so far, and its exit status once it has ended (null while running). A script killed
   * as a whole (SIGKILL to the group) cannot record its status and reports 137.
   */
  async peek(): Promise<{ stdout: string; stderr: string; code: number | null }> {
    const d = this.dir;
    const r = await this.peer.check(
      `${BB} cat ${d}/rc 2>/dev/null || { kill -0 ${this.pid} 2>/dev/null && echo - || echo gone; }; ` +
        `${BB} base64 -w0 ${d}/out; echo; ${BB} base64 -w0 ${d}/err; echo`,
    );
    const [rc = '-', out = '', err = ''] = r.split('\n');
    return {
      code: rc === '-' ? null : rc === 'gone' ? 137 : Number(rc),
      stdout: Buffer.from(out, 'base64').toString('utf8'),
      stderr: Buffer.from(err, 'base64').toString('utf8'),
    };
  }

  /** Waits for it to end on its own. */
  async wait(timeoutMs = 30_000): Promise<RunResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = await this.peek();
      if (p.code !== null) return { stdout: p.stdout, stderr: p.stderr, code: p.code };
      if (Date.now() > deadline) throw new Error(`guest process ${this.pid} still running after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** Waits until its stdout or stderr matches `pattern` (for example tcpdump's "listening on"). */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = await this.peek();
      if (pattern.test(p.stdout) || pattern.test(p.stderr)) return;
      if (p.code !== null) throw new Error(`guest process ended (${p.code}) before printing ${pattern}: ${p.stderr}`);
      if (Date.now() > deadline) throw new Error(`guest process did not print ${pattern} within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /**
   * Stops it with `signal` (default INT), then KILL after `timeoutMs`, and returns what it printed.
   * The status is usually 128 + the signal: the script's shell dies of it too.
   */
  async stop(signal = 'INT', timeoutMs = 10_000): Promise<RunResult> {
    await this.signal(signal);
    try {
      return await this.wait(timeoutMs);
    } catch {
      await this.signal('KILL');
      return await this.wait(5_000);
    }
  }
}

let spawnCounter = 0;

export class KernelPeer {
  private closed = false;
  private readonly exited: Promise<void>;
  private consoleBuffer = '';
  private consolePartial = '';
  private agent: AgentClient | null = null;
  private forgetQemu: () => void = () => {};
  private forgetTap: () => void = () => {};
  private forgetTmp: () => void = () => {};
  private server: Server | null = null;
  private qemu: ChildProcess | null = null;
  private exitInfo: string | null = null;

  /** The qemu process id on this machine (undefined before start). */
  get qemuPid(): number | undefined {
    return this.qemu?.pid;
  }

  /** This peer's temp directory on this machine (the agent socket lives there). */
  get tempDir(): string {
    return this.dir;
  }

  /** Kernel release reported by the guest, e.g. 6.1.0-56-amd64. */
  kernelRelease = '';
  readonly times: BootTimes = { image: 0, boot: 0, setup: 0 };
  /** What was booted: the kernel file (an unpacked vmlinux when pvh), the initramfs. */
  bootedWith = { kernel: '', initramfs: '', pvh: false };

  private constructor(
    readonly netns: string,
    readonly tap: string,
    readonly ifname: string,
    readonly mac: string,
    private readonly dir: string,
    private readonly onConsole: ((line: string) => void) | undefined,
  ) {
    let resolveExit: () => void = () => {};
    this.exited = new Promise((r) => (resolveExit = r));
    this.markExited = resolveExit;
  }

  private markExited: () => void;

  /**
   * Why a kernel peer cannot be booted here (not root, a tool or the kernel missing), or null when
   * it can. Tests skip with this reason; CI has everything, so nothing skips there.
   */
  static unavailable(): string | null {
    if (process.getuid?.() !== 0) return 'needs root: network namespaces, taps and qemu networking';
    if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun for the guest NIC';
    for (const [tool, pkg] of [['qemu-system-x86_64', 'qemu-system-x86'], ['nsenter', 'util-linux'], ['setpriv', 'util-linux']]) {
      try {
        execFileSync('which', [tool], { stdio: 'ignore' });
      } catch {
        return `needs ${tool} (apt-get install ${pkg})`;
      }
    }
    try {
      findGuestKernel();
      findStaticBusybox();
    } catch (err) {
      return `needs ${(err as Error).message}`;
    }
    return null;
  }

  static async boot(options: KernelPeerOptions): Promise<KernelPeer> {
    const t0 = performance.now();
    const nsPath = `/run/netns/${options.netns}`;
    if (!existsSync(nsPath)) throw new Error(`network namespace ${options.netns} does not exist`);
    const missing = KernelPeer.unavailable();
    if (missing !== null) throw new Error(`cannot boot a kernel peer: ${missing}`);
    const kernel = findGuestKernel(options.kernel);
    const buildDir = join(repoRoot(), 'build', 'interop');
    const image = buildInitramfs(kernel, buildDir, options.extraModules);
    const wantPvh = options.pvh ?? process.env.BURROW_INTEROP_PVH !== '0';
    const boot = wantPvh ? bootableKernel(kernel, buildDir) : { path: kernel.vmlinuz, pvh: false };

    const tap = options.tap ?? uniqueName('t');
    const mac = options.mac ?? `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    sweepStaleTempDirs();
    const dir = mkdtempSync(join(tmpdir(), `bwq-peer-${process.pid.toString(36)}-`));
    const onConsole =
      options.onConsole ??
      (process.env.BURROW_INTEROP_VERBOSE ? (l: string) => process.stderr.write(`[peer] ${l}\n`) : undefined);
    const peer = new KernelPeer(options.netns, tap, options.ifname ?? 'eth0', mac, dir, onConsole);
    peer.forgetTmp = registerCleanup(`temp dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    peer.times.image = performance.now() - t0;
    try {
      peer.bootedWith = { kernel: boot.path, initramfs: image.path, pvh: boot.pvh };
      await peer.start(options, boot.path, image.path);
      return peer;
    } catch (err) {
      await peer.close();
      throw err;
    }
  }

  private async start(options: KernelPeerOptions, vmlinuz: string, initrd: string): Promise<void> {
    // qemu connects to us (server=off), so there is no polling for a socket file.
    const socketPath = join(this.dir, 'agent.sock');
    const connected = new Promise<Socket>((resolve) => {
      this.server = createServer((s) => resolve(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(socketPath, () => resolve());
    });

    const accel = options.accel ?? (process.env.BURROW_INTEROP_ACCEL as 'tcg' | 'kvm' | undefined) ?? 'tcg';
    const args = [
      `--net=/run/netns/${this.netns}`, '--',
      'setpriv', '--pdeathsig', 'KILL', '--',
      'qemu-system-x86_64',
      '-accel', accel, '-m', String(options.memoryMb ?? 512), '-smp', '1',
      '-nodefaults', '-no-reboot', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
      '-kernel', vmlinuz, '-initrd', initrd,
      '-append', 'console=ttyS0 panic=-1 quiet',
      '-virtfs', `local,path=/,mount_tag=${HOST_ROOT_TAG},security_model=none,readonly=on,multidevs=remap`,
      '-device', 'virtio-serial-pci',
      '-chardev', `socket,id=agent,path=${socketPath},server=off`,
      '-device', `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`,
      // vnet_hdr=off: no checksum or segmentation offload between guest and host, so every frame
      // on the tap is complete and correct, as on a real wire (raw sockets never fix partial sums).
      '-netdev', `tap,id=n0,ifname=${this.tap},script=no,downscript=no,vnet_hdr=off`,
      '-device', `virtio-net-pci,netdev=n0,mac=${this.mac}`,
    ];
    const started = performance.now();
    const qemu = spawnProcess('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.qemu = qemu;
    const pid = qemu.pid;
    if (pid !== undefined) {
      this.forgetQemu = registerCleanup(`qemu pid ${pid}`, () => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      });
    }
    qemu.stdout!.setEncoding('utf8').on('data', (s: string) => this.onConsoleData(s));
    qemu.stderr!.setEncoding('utf8').on('data', (s: string) => this.onConsoleData(s));
    const exitedEarly = new Promise<never>((_, reject) => {
      qemu.once('error', (err) => {
        this.exitInfo = `could not start qemu: ${err.message}`;
        this.markExited();
        reject(new Error(this.exitInfo));
      });
      qemu.once('exit', (code, signal) => {
        this.exitInfo = `qemu exited (${signal ?? code})`;
        this.forgetQemu();
        this.agent?.fail(new Error(this.exitInfo));
        this.markExited();
        reject(new Error(this.exitInfo));
      });
    });
    exitedEarly.catch(() => undefined);

    // qemu makes the tap (in its namespace) as it starts; it is not persistent, so it vanishes with
    // qemu however qemu ends. Configure it while the guest boots.
    const { netns, tap } = this;
    this.forgetTap = registerCleanup(`tap ${tap} in ${netns}`, () => {
      try {
        execFileSync('ip', ['-n', netns, 'link', 'del', tap], { stdio: 'ignore' });
      } catch {
        // gone with qemu or its namespace
      }
    });
    await Promise.race([this.waitForTap(), exitedEarly]);
    if (options.hostAddress) sh('ip', ['-n', netns, 'addr', 'add', options.hostAddress, 'dev', tap]);
    sh('ip', ['-n', netns, 'link', 'set', tap, 'up']);

    const timeoutMs = options.bootTimeoutMs ?? 180_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`guest did not boot within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const socket = await Promise.race([connected, exitedEarly, timeout]);
      this.agent = new AgentClient(socket);
      this.kernelRelease = await Promise.race([this.agent.ready(), exitedEarly, timeout]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- guest console (tail) ---\n${this.consoleText().slice(-4000)}`);
    } finally {
      clearTimeout(timer);
    }
    this.times.boot = performance.now() - started;

    const setup = performance.now();
    const steps = [];
    if (this.ifname !== 'eth0') steps.push(`ip link set eth0 name ${this.ifname}`);
    steps.push(`ip link set ${this.ifname} up`);
    if (options.guestAddress) steps.push(`ip addr add ${options.guestAddress} dev ${this.ifname}`);
    await this.check(steps.join(' && '));
    this.times.setup = performance.now() - setup;
  }

  private async waitForTap(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!this.tapExists()) {
      if (this.exitInfo !== null) return; // the caller's race reports qemu's exit
      if (Date.now() > deadline) throw new Error(`qemu did not create tap ${this.tap} in ${this.netns}`);
      await sleep(20);
    }
  }

  private tapExists(): boolean {
    try {
      execFileSync('ip', ['-n', this.netns, 'link', 'show', 'dev', this.tap], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  private onConsoleData(s: string): void {
    this.consoleBuffer = (this.consoleBuffer + s).slice(-CONSOLE_KEEP);
    if (this.onConsole === undefined) return;
    const text = this.consolePartial + s;
    const lines = text.split('\n');
    this.consolePartial = lines.pop() ?? '';
    for (const l of lines) this.onConsole(l.replace(/\r$/, ''));
  }

  /** The guest's console output (kernel messages, init's progress), the last 64 KiB. */
  consoleText(): string {
    return this.consoleBuffer;
  }

  /** Runs a shell script in the guest and returns its output and exit status. */
  async run(script: string, options: RunOptions = {}): Promise<RunResult> {
    if (this.agent === null || this.closed) throw new Error('kernel peer is not running');
    return this.agent.run(script, options.timeoutMs ?? 30_000);
  }

  /**
   * Runs several scripts in one round trip, one after the other, each in its own subshell, and
   * returns each one's output and status; a failing script does not stop the ones after it.
   * Under software emulation every fork costs about 15 ms and every exec of a dynamically linked
   * program about 70 ms, so the outputs come back as one tar rather than one encoder per script.
   */
  async runMany(scripts: string[], options: RunOptions = {}): Promise<RunResult[]> {
    if (scripts.length === 0) return [];
    const d = `/run/bwq/m${++spawnCounter}`;
    const lines = [`${BB} mkdir -p ${d} || exit 1`];
    scripts.forEach((s, i) => lines.push(`(\n${s}\n) </dev/null >${d}/o${i} 2>${d}/e${i}; echo $? >${d}/c${i}`));
    lines.push(`cd ${d} && ${BB} tar -c . | ${BB} base64 -w0; cd /; ${BB} rm -rf ${d}`);
    const r = await this.run(lines.join('\n'), { timeoutMs: options.timeoutMs ?? 30_000 + 10_000 * scripts.length });
    if (r.code !== 0) throw new Error(`guest: runMany failed (${r.code}): ${r.stderr}`);
    const files = untar(Buffer.from(r.stdout, 'base64'));
    return scripts.map((_, i) => {
      const code = files.get(`c${i}`);
      if (code === undefined) throw new Error(`guest: runMany lost the status of script ${i}: ${r.stderr}`);
      return {
        code: Number(code.toString('utf8').trim()),
        stdout: (files.get(`o${i}`) ?? Buffer.alloc(0)).toString('utf8'),
        stderr: (files.get(`e${i}`) ?? Buffer.alloc(0)).toString('utf8'),
      };
    });
  }

  /** Runs a script and returns its stdout; throws (with stderr) unless it exits 0. */
  async check(script: string, options: RunOptions = {}): Promise<string> {
    const r = await this.run(script, options);
    if (r.code !== 0) throw new Error(`guest: \`${script}\` exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Writes a file in the guest (under /tmp or /run: the rest of its root is read-only). */
  async writeFile(path: string, data: string | Uint8Array): Promise<void> {
    const b64 = Buffer.from(data).toString('base64');
    await this.check(`printf %s '${b64}' | ${BB} base64 -d > '${path}'`);
  }

  /** Starts a script in the background in its own process group; see GuestProcess. */
  async spawn(script: string): Promise<GuestProcess> {
    const d = `/run/bwq/p${++spawnCounter}`;
    // The wrapper traps (not ignores) INT/TERM/HUP so it outlives a signal to the group and records
    // the status; a trapped signal is reset to default in the programs it runs.
    const wrapper = [
      `trap : INT TERM HUP`,
      `echo $$ > ${d}/pid.tmp && ${BB} mv ${d}/pid.tmp ${d}/pid`,
      `/bin/sh ${d}/cmd </dev/null >${d}/out 2>${d}/err`,
      `echo $? > ${d}/rc.tmp && ${BB} mv ${d}/rc.tmp ${d}/rc`,
    ].join('\n');
    const enc = (t: string) => Buffer.from(t).toString('base64');
    const out = await this.check(
      `${BB} mkdir -p ${d} && : > ${d}/out && : > ${d}/err && ` +
        `echo ${enc(script)} | ${BB} base64 -d > ${d}/cmd && echo ${enc(wrapper)} | ${BB} base64 -d > ${d}/wrap && ` +
        `setsid -f /bin/sh ${d}/wrap </dev/null >/dev/null 2>&1 && ` +
        `while [ ! -s ${d}/pid ]; do ${BB} usleep 10000; done; ${BB} cat ${d}/pid`,
    );
    return new GuestProcess(this, Number(out.trim()), d);
  }

  /** Stops the guest and removes the tap and temp files. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.agent?.destroy(new Error('kernel peer closed'));
    const qemu = this.qemu;
    if (qemu !== null && this.exitInfo === null && qemu.pid !== undefined) {
      try {
        process.kill(qemu.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const killer = setTimeout(() => {
        try {
          if (qemu.pid !== undefined) process.kill(qemu.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3_000);
      await this.exited;
      clearTimeout(killer);
    }
    this.forgetQemu();
    if (this.server !== null) await new Promise<void>((r) => this.server!.close(() => r()));
    try {
      execFileSync('ip', ['-n', this.netns, 'link', 'del', this.tap], { stdio: 'ignore' });
    } catch {
      // never made, or gone with its namespace
    }
    this.forgetTap();
    rmSync(this.dir, { recursive: true, force: true });
    this.forgetTmp();
  }
}

/** Removes temp dirs of peers whose test process died by SIGKILL (named bwq-peer-<pid base 36>-). */
export function sweepStaleTempDirs(): string[] {
  const swept: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    const m = /^bwq-peer-([0-9a-z]+)-/.exec(name);
    if (m === null || alive(parseInt(m[1], 36))) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
    swept.push(join(tmpdir(), name));
  }
  return swept;
}

/** Regular files of a ustar archive by name (without a leading ./). */
function untar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, len: number) => header.toString('latin1', start, start + len).replace(/\0.*$/s, '');
    const name = field(0, 100).replace(/^\.\//, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    if (type === '0' || type === '') files.set(name, tar.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
