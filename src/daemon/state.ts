/**
 * The daemon's state on disk: the tunnels the user configured, so that a daemon that was killed (even with
 * SIGKILL) and started again adopts them. Written atomically (temporary file, fsync, rename), so a crash
 * leaves either the old file or the new one, never half of one.
 *
 * The state belongs to one boot: it records the kernel's boot id, and a file from an earlier boot (whose
 * devices the reboot removed) is set aside rather than adopted.
 */
import fs from 'node:fs';
import { isTunnelParams, type TunnelParams } from '../tunnel/params.js';

export interface DaemonState {
  version: 1;
  bootId: string;
  tunnels: TunnelParams[];
  /**
   * An add or delete under way: written before its device is made or deleted, gone once the change is
   * done. A daemon killed in between leaves it here, and the next one finishes the change (see
   * TunnelService.adopt), so that no device is left that no tunnel owns.
   */
  pending?: PendingChange;
}

export interface PendingChange {
  op: 'add' | 'del';
  name: string;
}

function isPendingChange(value: unknown): value is PendingChange {
  const p = value as Partial<PendingChange> | null;
  return typeof p === 'object' && p !== null && (p.op === 'add' || p.op === 'del') && typeof p.name === 'string';
}

export function currentBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export function emptyState(): DaemonState {
  return { version: 1, bootId: currentBootId(), tunnels: [] };
}

/** Reads the state file; returns an empty state when there is none or it is from another boot. */
export function loadState(file: string, log: (message: string) => void): DaemonState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const aside = `${file}.corrupt-${Date.now()}`;
    fs.renameSync(file, aside);
    log(`state file ${file} is not valid JSON; moved it to ${aside} and started empty`);
    return emptyState();
  }
  const state = parsed as Partial<DaemonState>;
  if (state.version !== 1 || !Array.isArray(state.tunnels)) {
    throw new Error(`state file ${file} has an unknown format (version ${String(state.version)})`);
  }
  if (state.bootId !== currentBootId()) {
    log(`state file ${file} is from another boot; its tunnels went with that boot`);
    return emptyState();
  }
  const tunnels = state.tunnels.filter(isTunnelParams);
  if (tunnels.length !== state.tunnels.length) log(`state file ${file}: skipped entries that are not tunnels`);
  return { version: 1, bootId: state.bootId, tunnels, ...(isPendingChange(state.pending) ? { pending: state.pending } : {}) };
}

export function saveState(file: string, state: DaemonState): void {
  const temporary = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(temporary, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(state, null, 1) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
}
