/**
 * Small network-namespace helpers for the interop tests (src/lab/ will grow the real topology code;
 * tests may not import lab/ anyway). Every namespace made here is deleted on every exit path.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { registerCleanup } from './cleanup.js';

export const NAME_PREFIX = 'bwq';

/** Runs a program and returns its stdout; throws with stderr in the message when it fails. */
export function sh(file: string, args: string[], input?: string): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input });
  } catch (err) {
    const e = err as { stderr?: string; status?: number };
    throw new Error(`${file} ${args.join(' ')} failed (exit ${e.status}): ${(e.stderr ?? '').trim()}`);
  }
}

let counter = 0;

/** A unique interface name with the bwq prefix: `bwq<tag><pid base 36><n>`, at most 15 bytes. */
export function uniqueName(tag: string): string {
  const name = `${NAME_PREFIX}${tag}${process.pid.toString(36)}${(counter++).toString(36)}`;
  if (name.length > 15) throw new Error(`name too long for an interface: ${name}`);
  return name;
}

/** Namespaces named by Netns.unique: `bwq-<tag>-<pid base 36>`, so a stale one names its dead owner. */
const UNIQUE_NETNS = /^bwq-[a-z0-9]+-([0-9a-z]+)$/;

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes namespaces left by test processes that died by SIGKILL (the one exit no handler sees):
 * only names made by Netns.unique whose owner pid no longer exists.
 */
export function sweepStaleNamespaces(): string[] {
  const swept: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return swept;
  }
  for (const name of names) {
    const m = UNIQUE_NETNS.exec(name);
    if (m === null || alive(parseInt(m[1], 36))) continue;
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      swept.push(name);
    } catch {
      // someone else got it first
    }
  }
  return swept;
}

export class Netns {
  private forget: (() => void) | null;

  private constructor(readonly name: string) {
    this.forget = registerCleanup(`netns ${name}`, () => Netns.deleteQuietly(name));
  }

  /** Makes a namespace named `bwq-<tag><n>-<pid base 36>`, unique to this process. */
  static unique(tag: string): Netns {
    if (!/^[a-z0-9]+$/.test(tag)) throw new Error(`namespace tags are lowercase letters and digits: ${tag}`);
    return Netns.create(`${NAME_PREFIX}-${tag}${(counter++).toString(36)}-${process.pid.toString(36)}`);
  }

  /** Makes the namespace (replacing a stale one of the same name) with loopback up. */
  static create(name: string): Netns {
    if (!name.startsWith(NAME_PREFIX)) throw new Error(`namespace names start with ${NAME_PREFIX}: ${name}`);
    sweepStaleNamespaces();
    if (existsSync(`/run/netns/${name}`)) Netns.deleteQuietly(name);
    sh('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /** `ip -n NAME ...` */
  ip(...args: string[]): string {
    return sh('ip', ['-n', this.name, ...args]);
  }

  /** Runs a program inside the namespace. */
  exec(file: string, args: string[] = []): string {
    return sh('ip', ['netns', 'exec', this.name, file, ...args]);
  }

  delete(): void {
    if (this.forget === null) return;
    this.forget();
    this.forget = null;
    Netns.deleteQuietly(this.name);
  }

  private static deleteQuietly(name: string): void {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}
