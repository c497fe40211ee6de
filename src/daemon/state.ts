/**
 * The daemon's state on disk: the tunnels the user configured, and the IPsec states and policies (keys
 * included: the file is root's alone), so that a daemon that was killed (even with
 * SIGKILL) and started again adopts them. Written atomically (temporary file, fsync, rename), so a crash
 * leaves either the old file or the new one, never half of one.
 *
 * The state belongs to one boot: it records the kernel's boot id, and a file from an earlier boot (whose
 * devices the reboot removed) is set aside rather than adopted.
 */
import fs from 'node:fs';
import type { PrlEntry } from '../tunnel/isatap.js';
import { isTunnelParams, type SixRdParams, type TunnelParams } from '../tunnel/params.js';
import type { FdbRemote } from '../tunnel/fdb.js';
import { isVxlanParams, type VxlanParams } from '../tunnel/vxlan.js';
import type { SavedXfrm } from '../xfrm/database.js';

/**
 * One tunnel in the state file: its parameters, plus for sit and isatap the 6rd configuration (the
 * prefix as 16 numbers) and the potential router list, when they are not the defaults.
 */
export type SavedTunnel = TunnelParams & {
  sixRd?: { prefix: number[]; prefixLength: number; relayPrefix: number; relayPrefixLength: number };
  prl?: PrlEntry[];
};

/** A vxlan device as the state file keeps it: its configuration and the FDB entries not learned. */
export interface SavedVxlan {
  params: VxlanParams;
  fdb: { mac: number; state: number; flags: number; remotes: FdbRemote[] }[];
}

export interface DaemonState {
  version: 1;
  bootId: string;
  tunnels: SavedTunnel[];
  /** vxlan devices (absent in files from before vxlan). */
  vxlan?: SavedVxlan[];
  /** `burrow xfrm` states and policies (absent before any was added). */
  xfrm?: SavedXfrm;
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

/** The 6rd configuration of a saved tunnel, or undefined when it has none or it is malformed. */
export function savedSixRd(t: SavedTunnel): SixRdParams | undefined {
  const c = t.sixRd;
  if (typeof c !== 'object' || c === null || !Array.isArray(c.prefix) || c.prefix.length !== 16) return undefined;
  return {
    prefix: Uint8Array.from(c.prefix),
    prefixLength: Number(c.prefixLength),
    relayPrefix: Number(c.relayPrefix) >>> 0,
    relayPrefixLength: Number(c.relayPrefixLength),
  };
}

/** The potential router list of a saved tunnel (entries that are not routers are left out). */
export function savedPrl(t: SavedTunnel): PrlEntry[] {
  if (!Array.isArray(t.prl)) return [];
  return t.prl.filter((e) => typeof e?.address === 'number' && typeof e.isDefault === 'boolean');
}

function isSavedVxlan(value: unknown): value is SavedVxlan {
  const v = value as Partial<SavedVxlan> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    isVxlanParams(v.params) &&
    Array.isArray(v.fdb) &&
    v.fdb.every(
      (e) =>
        typeof e === 'object' &&
        e !== null &&
        [e.mac, e.state, e.flags].every((n) => typeof n === 'number') &&
        Array.isArray(e.remotes) &&
        e.remotes.length > 0 &&
        e.remotes.every((r) => [r?.ip, r?.port, r?.vni, r?.ifindex].every((n) => typeof n === 'number')),
    )
  );
}

export function currentBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export function emptyState(): DaemonState {
  return { version: 1, bootId: currentBootId(), tunnels: [], vxlan: [] };
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
  const saved = Array.isArray(state.vxlan) ? state.vxlan : [];
  const vxlan = saved.filter(isSavedVxlan);
  if (vxlan.length !== saved.length) log(`state file ${file}: skipped vxlan entries of an unknown shape`);
  const xfrm = savedXfrm(state.xfrm);
  if (state.xfrm !== undefined && xfrm === undefined) log(`state file ${file}: skipped xfrm states and policies that are not readable`);
  return {
    version: 1,
    bootId: state.bootId,
    tunnels,
    vxlan,
    ...(xfrm ? { xfrm } : {}),
    ...(isPendingChange(state.pending) ? { pending: state.pending } : {}),
  };
}

/** The xfrm part of a state file when it has the expected shape (each entry is checked again on adoption). */
function savedXfrm(value: unknown): SavedXfrm | undefined {
  const x = value as Partial<SavedXfrm> | undefined;
  if (typeof x !== 'object' || x === null || !Array.isArray(x.states) || !Array.isArray(x.policies)) return undefined;
  return { states: x.states, policies: x.policies, indexGenerator: Number(x.indexGenerator) >>> 0 };
}

export function saveState(file: string, state: DaemonState): void {
  const temporary = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(temporary, 'w', 0o600);
  try {
    // No fsync: the rename is atomic for a crash of the process, and after a crash of the machine the
    // file belongs to another boot and is discarded anyway (loadState). fsync cost ~2.4 ms per request.
    fs.writeSync(fd, JSON.stringify(state, null, 1) + '\n');
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
}
