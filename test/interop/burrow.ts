/**
 * burrow's daemon and command line inside an interop test's namespace, facing the kernel peer.
 *
 *   const b = BurrowNode.start(f.ns.name);   // a run directory of its own (BURROW_RUN_DIR)
 *   b.ok('tunnel', 'add', 'nb0', 'mode', 'ipip', 'remote', 'any', 'local', HOST);
 *   b.counters('nb0');                        // stats64 from `burrow -s -s -j tunnel show`
 *   b.stop();                                 // `daemon stop --flush`, also on any exit path
 *
 * The first command starts the daemon (autostart); stop() deletes its tunnels and stops it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from './cleanup.js';
import { repoRoot } from './guest-image.js';

export interface Stats64 {
  rx: Record<string, number>;
  tx: Record<string, number>;
}

export class BurrowNode {
  private forget: (() => void) | null;

  private constructor(
    readonly netns: string,
    private readonly runDir: string,
  ) {
    this.forget = registerCleanup(`burrow daemon in ${netns}`, () => this.stopQuietly());
  }

  static start(netns: string): BurrowNode {
    return new BurrowNode(netns, mkdtempSync(join(tmpdir(), 'burrow-interop-')));
  }

  /** `burrow ARGS...` in the namespace: { stdout, stderr, code }. */
  run(...args: string[]): { stdout: string; stderr: string; code: number } {
    const r = spawnSync('ip', ['netns', 'exec', this.netns, join(repoRoot(), 'bin', 'burrow'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, BURROW_RUN_DIR: this.runDir },
      timeout: 30_000,
    });
    return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status ?? -1 };
  }

  ok(...args: string[]): string {
    const r = this.run(...args);
    if (r.code !== 0) throw new Error(`burrow ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    return r.stdout;
  }

  /** A command in the namespace (ip, ping, sysctl). */
  exec(file: string, ...args: string[]): { stdout: string; stderr: string; code: number } {
    const r = spawnSync('ip', ['netns', 'exec', this.netns, file, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status ?? -1 };
  }

  sh(script: string): string {
    const r = this.exec('sh', '-c', script);
    if (r.code !== 0) throw new Error(`${script}: exit ${r.code}\n${r.stderr}`);
    return r.stdout;
  }

  counters(name: string): Stats64 & { drops: Record<string, number> } {
    const list = JSON.parse(this.ok('-s', '-s', '-j', 'tunnel', 'show')) as Array<{
      ifname: string;
      stats64: Stats64;
      drops?: Record<string, number>;
    }>;
    const t = list.find((e) => e.ifname === name);
    if (!t) throw new Error(`${name} is not listed`);
    return { ...t.stats64, drops: t.drops ?? {} };
  }

  stop(): void {
    if (this.forget === null) return;
    this.forget();
    this.forget = null;
    this.stopQuietly();
  }

  private stopQuietly(): void {
    this.run('daemon', 'stop', '--flush');
    rmSync(this.runDir, { recursive: true, force: true });
  }
}

/** `ping` summary: how many of `count` echoes came back. */
export function pingCount(output: string): number {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
  return m ? Number(m[2]) : 0;
}
