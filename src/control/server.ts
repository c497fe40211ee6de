/**
 * The daemon's end of the control socket: one JSON request line in, one JSON response line out.
 *
 * The socket lives in a directory only root can enter (see paths.ts) and is itself mode 0600. Requests are
 * checked for shape here; their meaning (kernel rules, errno) is the handler's business. A handler that
 * throws a BurrowError answers with its errno; anything else is a bug, logged and answered with EIO.
 */
import fs from 'node:fs';
import net from 'node:net';
import { BurrowError } from '../errors.js';
import type { Request, Response } from './protocol.js';

const MAX_REQUEST_BYTES = 1 << 20;
const OPS: ReadonlySet<string> = new Set<Request['op']>([
  'tunnel.add',
  'tunnel.change',
  'tunnel.del',
  'tunnel.get',
  'tunnel.list',
  'tunnel.6rd',
  'tunnel.prl',
  'link.add',
  'link.del',
  'link.get',
  'link.list',
  'fdb.list',
  'fdb.modify',
  'xfrm.state.add',
  'xfrm.state.del',
  'xfrm.state.get',
  'xfrm.state.list',
  'xfrm.state.flush',
  'xfrm.state.count',
  'xfrm.policy.add',
  'xfrm.policy.del',
  'xfrm.policy.get',
  'xfrm.policy.list',
  'xfrm.policy.flush',
  'xfrm.policy.count',
  'daemon.status',
  'daemon.stop',
]);

export type RequestHandler = (request: Request) => Promise<unknown> | unknown;

export interface ControlServer {
  close(): Promise<void>;
}

export async function serveControl(
  socketPath: string,
  handler: RequestHandler,
  onBug: (error: unknown) => void,
): Promise<ControlServer> {
  // The caller holds the daemon lock, so a socket file left here belongs to a dead daemon.
  fs.rmSync(socketPath, { force: true });
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.length > MAX_REQUEST_BYTES) {
        reply(socket, { ok: false, error: { code: 'EMSGSIZE', message: 'request too large' } });
        return;
      }
      const newline = received.indexOf('\n');
      if (newline < 0) return;
      socket.removeAllListeners('data');
      void answer(received.slice(0, newline), handler, onBug).then((response) => reply(socket, response));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  fs.chmodSync(socketPath, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.destroy();
        server.close(() => resolve());
      }),
  };
}

function reply(socket: net.Socket, response: Response): void {
  if (socket.destroyed) return;
  socket.end(JSON.stringify(response) + '\n');
}

async function answer(line: string, handler: RequestHandler, onBug: (error: unknown) => void): Promise<Response> {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { ok: false, error: { code: 'EINVAL', message: 'request is not JSON' } };
  }
  if (!isRequest(request)) return { ok: false, error: { code: 'EINVAL', message: 'unknown request' } };
  try {
    const result = await handler(request);
    return { ok: true, result: result ?? null };
  } catch (error) {
    if (error instanceof BurrowError) {
      return { ok: false, error: { code: error.code, message: error.message, ...(error.extack !== undefined ? { extack: error.extack } : {}) } };
    }
    onBug(error);
    return { ok: false, error: { code: 'EIO', message: 'internal error (see the daemon log)' } };
  }
}

function isRequest(value: unknown): value is Request {
  return typeof value === 'object' && value !== null && OPS.has((value as { op?: unknown }).op as string);
}
