/**
 * Where the daemon of this network namespace keeps its socket, lock, state and log.
 *
 * One daemon runs per network namespace, so the files are keyed by the namespace's cookie
 * (SO_NETNS_COOKIE): unlike the namespace's inode number it is never reused while the machine runs, so a
 * new namespace can never pick up a dead one's state. The directory is root's alone (0700), which is what
 * keeps the control socket for root only. BURROW_RUN_DIR moves the whole tree (tests).
 */
import path from 'node:path';

export interface DaemonPaths {
  /** The namespace's directory. */
  dir: string;
  socket: string;
  lock: string;
  state: string;
  pid: string;
  log: string;
}

export function runDirectory(): string {
  return process.env.BURROW_RUN_DIR ?? '/run/burrow';
}

export function daemonPaths(netnsCookie: string, runDir = runDirectory()): DaemonPaths {
  const dir = path.join(runDir, `netns-${netnsCookie}`);
  return {
    dir,
    socket: path.join(dir, 'control.sock'),
    lock: path.join(dir, 'daemon.lock'),
    state: path.join(dir, 'state.json'),
    pid: path.join(dir, 'daemon.pid'),
    log: path.join(dir, 'daemon.log'),
  };
}
