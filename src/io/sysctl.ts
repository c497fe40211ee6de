/**
 * Kernel parameters under /proc/sys (sysctl(8)), e.g. net.ipv6.conf.<dev>.disable_ipv6.
 *
 * Namespace: a file under /proc/sys/net belongs to the network namespace of the thread that opens it,
 * so a Sysctl answers for the caller's namespace, or, given `netns` (`/run/netns/NAME`), opens each
 * file from inside that one, as a NetlinkHandle does. `root` lets tests use a directory of their own.
 *
 * Keys: dotted as sysctl(8) writes them (`net.ipv4.ip_forward`), or slash-separated
 * (`net/ipv6/conf/eth0.100/disable_ipv6`) when a component holds a dot, as a VLAN device name does; an
 * array of components is never ambiguous. Failures carry the errno the kernel gave (BurrowErrors for
 * the names errors.ts lists): ENOENT for a missing key (or device), EINVAL for a value the kernel
 * refuses, EACCES/EPERM without the privilege, EIO for an unset stable_secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BurrowError } from '../errors.js';
import { errnoError, inNetns } from './native/index.js';

export type SysctlKey = string | readonly string[];

export interface SysctlOptions {
  /** Default /proc/sys. */
  root?: string;
  /** Namespace to read and write in (a path such as /run/netns/NAME); default: the caller's. */
  netns?: string;
}

export class Sysctl {
  readonly root: string;
  readonly netns: string | undefined;

  constructor(options: SysctlOptions = {}) {
    this.root = options.root ?? '/proc/sys';
    this.netns = options.netns;
  }

  private inside<T>(fn: () => T): T {
    return this.netns === undefined ? fn() : inNetns(this.netns, fn);
  }

  /** The file behind a key. Components may not be empty, '.', '..' or hold a '/'. */
  path(key: SysctlKey): string {
    const parts = typeof key === 'string' ? (key.includes('/') ? key.split('/') : key.split('.')) : [...key];
    for (const p of parts) {
      if (p === '' || p === '.' || p === '..' || p.includes('/')) {
        throw new BurrowError('EINVAL', `bad sysctl key ${JSON.stringify(key)}`);
      }
    }
    return path.join(this.root, ...parts);
  }

  /** The value as the kernel prints it, without the trailing newline. */
  read(key: SysctlKey): string {
    try {
      const file = this.path(key);
      return this.inside(() => fs.readFileSync(file, 'utf8')).replace(/\n$/, '');
    } catch (e) {
      throw toBurrowError(e, `read sysctl ${keyText(key)}`);
    }
  }

  /** A single integer value; EINVAL when the file holds something else. */
  readInt(key: SysctlKey): number {
    const text = this.read(key).trim();
    if (!/^-?\d+$/.test(text)) throw new BurrowError('EINVAL', `sysctl ${keyText(key)} is not an integer: ${text}`);
    return Number(text);
  }

  write(key: SysctlKey, value: string | number): void {
    try {
      // One write(2), as sysctl(8) does: the kernel parses each write on its own.
      const file = this.path(key);
      this.inside(() => fs.writeFileSync(file, `${value}\n`));
    } catch (e) {
      throw toBurrowError(e, `write sysctl ${keyText(key)} = ${value}`);
    }
  }
}

/** The key of a per-device setting: `net.ipv4.conf.DEV.NAME` or `net.ipv6.conf.DEV.NAME`. */
export function deviceConfKey(family: 4 | 6, device: string, name: string): readonly string[] {
  return ['net', family === 4 ? 'ipv4' : 'ipv6', 'conf', device, name];
}

function keyText(key: SysctlKey): string {
  return typeof key === 'string' ? key : key.join('/');
}

/** Node's fs error as the errno error every io/ module throws (a BurrowError when errors.ts names it). */
function toBurrowError(e: unknown, what: string): Error {
  if (e instanceof BurrowError) return e;
  const errno = (e as { errno?: unknown }).errno;
  return typeof errno === 'number' ? errnoError(Math.abs(errno), what) : (e as Error);
}
