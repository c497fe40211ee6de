/**
 * Micro-benchmark of burrow's ESP transforms (src/xfrm/sa.ts), not a test: packets per second
 * encrypted and decrypted on one core, for 64-byte and 1400-byte inner packets, with each algorithm.
 * node:crypto allocates a cipher object and its output for every packet; the figures include that.
 *
 *   npx tsc -p . && node dist/bench/esp.js [seconds=1]
 */
import { SecurityAssociation, type EspTransform } from '../src/xfrm/sa.js';

const seconds = Number(process.argv[2] ?? '1');
const TRANSFORMS: Array<[string, EspTransform]> = [
  ['rfc4106(gcm(aes)) 128', { kind: 'aead', name: 'rfc4106(gcm(aes))', key: Buffer.alloc(20, 7), icvBits: 128 }],
  ['cbc(aes)+hmac(sha256)', { kind: 'cbc-hmac', encryption: Buffer.alloc(16, 7), authentication: Buffer.alloc(32, 9), icvBits: 128 }],
];

function rate(fn: () => void): number {
  const until = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 256; i++) fn();
    n += 256;
  }
  return n / seconds;
}

for (const [name, transform] of TRANSFORMS) {
  for (const size of [64, 1400]) {
    const inner = Buffer.alloc(size, 0x45);
    const tx = new SecurityAssociation({ spi: 1, transform, replayWindow: 0 });
    const rx = new SecurityAssociation({ spi: 1, transform, replayWindow: 0 });
    const sample = tx.encrypt(inner, 4)!;
    const enc = rate(() => tx.encrypt(inner, 4));
    const dec = rate(() => rx.decrypt(sample));
    const mbit = (pps: number) => ((pps * size * 8) / 1e6).toFixed(0);
    process.stdout.write(
      `${name.padEnd(24)} ${String(size).padStart(5)} B  encrypt ${Math.round(enc).toString().padStart(7)} pkt/s (${mbit(enc)} Mbit/s)` +
        `  decrypt ${Math.round(dec).toString().padStart(7)} pkt/s (${mbit(dec)} Mbit/s)\n`,
    );
  }
}
