/**
 * The CLI's end of the control socket, and the daemon's automatic start.
 *
 * `connectDaemon()` finds the daemon of the caller's network namespace and starts one when none runs
 * (spawned detached, so it outlives the command). Each request is one connection: a JSON line out, a
 * JSON line back. A refused request comes back as a BurrowError with the daemon's errno.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BurrowError, isErrnoName, type ErrnoName } from '../errors.js';
import { netnsCookie } from '../io/native/index.js';
import { daemonPaths, type DaemonPaths } from './paths.js';
import type { Request, ResultOf, Response } from './protocol.js';

export interface TunnelClient {
  request<K extends Request['op']>(request: Extract<Request, { op: K }>): Promise<ResultOf[K]>;
}

const START_TIMEOUT_MS = 10_000;

export function currentDaemonPaths(): DaemonPaths {
  return daemonPaths(netnsCookie());
}

/** A client for this namespace's daemon; starts the daemon first when `autostart` and none answers. */
export async function connectDaemon(options: { autostart?: boolean } = {}): Promise<TunnelClient> {
  const paths = currentDaemonPaths();
  const autostart = options.autostart ?? true;
  const probe = await tryConnect(paths.socket);
  if (probe !== null && autostart && (probe === 'ENOENT' || probe === 'ECONNREFUSED')) {
    await startDaemon(paths);
  } else if (probe !== null) {
    throw new BurrowError(probe === 'EACCES' ? 'EPERM' : probe);
  }
  return clientAt(paths.socket);
}

/** A client for the daemon listening on `socketPath`, whatever namespace it serves (tests). */
export function clientAt(socketPath: string): TunnelClient {
  return { request: (request) => send(socketPath, request) as never };
}

/** Whether a daemon answers on this namespace's socket. */
export async function daemonRunning(paths = currentDaemonPaths()): Promise<boolean> {
  return (await tryConnect(paths.socket)) === null;
}

async function tryConnect(socketPath: string): Promise<ErrnoName | null> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code && isErrnoName(error.code) ? error.code : 'ECONNREFUSED');
    });
  });
}

/** Path of the CLI entry point, which `daemon run` goes through. */
function cliEntry(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
}

async function startDaemon(paths: DaemonPaths): Promise<void> {
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const log = fs.openSync(paths.log, 'a', 0o600);
  const child = spawn(process.execPath, [cliEntry(), 'daemon', 'run'], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  fs.closeSync(log);
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  for (;;) {
    const probe = await tryConnect(paths.socket);
    if (probe === null) return;
    // Another CLI may have started a daemon at the same moment: ours then exits, and theirs answers.
    if (exited !== null && !(await waitForOther(paths))) {
      throw new BurrowError('ECONNREFUSED', `the daemon exited with status ${exited}; see ${paths.log}`);
    }
    if (Date.now() > deadline) throw new BurrowError('ETIMEDOUT', `the daemon did not start; see ${paths.log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitForOther(paths: DaemonPaths): Promise<boolean> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if ((await tryConnect(paths.socket)) === null) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

function send(socketPath: string, request: Request): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let received = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => (received += chunk));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code && isErrnoName(error.code) ? error.code : 'EIO';
      reject(new BurrowError(code === 'EACCES' ? 'EPERM' : code));
    });
    socket.once('end', () => {
      let response: Response;
      try {
        response = JSON.parse(received) as Response;
      } catch {
        reject(new BurrowError('EIO', 'the daemon closed the connection without an answer'));
        return;
      }
      if (response.ok) resolve(response.result);
      else {
        const error = new BurrowError(isErrnoName(response.error.code) ? response.error.code : 'EIO', response.error.message);
        error.extack = response.error.extack;
        reject(error);
      }
    });
  });
}
