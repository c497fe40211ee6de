/**
 * `node dist/bench/checksum.js`: the Internet checksum's speed in GB/s on a 1460-byte segment and a
 * 64 KiB superframe, for wire/checksum.ts and for the plain byte loop it had before (kept here as the
 * baseline). No root needed.
 */
import { onesComplementSum } from '../src/wire/checksum.js';

function byteLoop(bytes: Uint8Array, offset: number, length: number): number {
  let sum = 0;
  let i = offset;
  const end = offset + length;
  for (; i < end - 1; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

const data = Buffer.allocUnsafeSlow(1 << 20);
for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 255;

for (const length of [1460, 65000]) {
  for (const [name, fn] of [['byte loop', byteLoop], ['wire/checksum', onesComplementSum]] as const) {
    const rounds = Math.floor(4e8 / length);
    let x = 0;
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) x ^= fn(data, 104 + ((r & 7) << 2), length);
    const ns = Number(process.hrtime.bigint() - t0);
    console.log(`${name.padEnd(14)} ${String(length).padStart(6)} B: ${((rounds * length) / ns).toFixed(2)} GB/s (${x})`);
  }
}
