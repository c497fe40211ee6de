/**
 * A byte-exact TCP transfer for the vxlan tests, run inside a namespace:
 *   node tcp-transfer.js server ADDR PORT        prints "listening", then the SHA-256 of what it received
 *   node tcp-transfer.js client ADDR PORT BYTES  sends BYTES random bytes, prints their SHA-256
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

const [role, address, portText, bytesText] = process.argv.slice(2);
const port = Number(portText);

if (role === 'server') {
  const hash = createHash('sha256');
  const server = net.createServer((socket) => {
    socket.on('data', (chunk) => hash.update(chunk));
    socket.on('end', () => {
      process.stdout.write(`${hash.digest('hex')}\n`);
      socket.end();
      server.close();
    });
  });
  server.listen(port, address, () => process.stdout.write('listening\n'));
  setTimeout(() => process.exit(2), 50_000).unref();
} else {
  const total = Number(bytesText);
  const hash = createHash('sha256');
  const socket = net.connect(port, address, () => {
    let left = total;
    const pump = (): void => {
      while (left > 0) {
        const chunk = randomBytes(Math.min(left, 65536));
        left -= chunk.length;
        hash.update(chunk);
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  socket.on('close', () => process.stdout.write(`${hash.digest('hex')}\n`));
  socket.on('error', (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
