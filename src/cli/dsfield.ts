/**
 * DS field (TOS) names, from the same file iproute2 reads: /etc/iproute2/rt_dsfield.
 *
 * `tos AF11` and `tos inherit/EF` are parsed through this table and printed back through it
 * (lib/rt_names.c: `rtnl_dsfield_a2n`, `rtnl_dsfield_n2a`). Names are case-sensitive; anything that is
 * not a name is read as hex 0..ff. When the file is missing, the stock Debian table below is used.
 */
import fs from 'node:fs';
import { strtoul } from './inet.js';

const FILES = ['/etc/iproute2/rt_dsfield', '/usr/share/iproute2/rt_dsfield'];

/** iproute2's etc/iproute2/rt_dsfield. */
const STOCK: ReadonlyArray<readonly [number, string]> = [
  [0x00, 'default'],
  [0x28, 'AF11'],
  [0x30, 'AF12'],
  [0x38, 'AF13'],
  [0x48, 'AF21'],
  [0x50, 'AF22'],
  [0x58, 'AF23'],
  [0x68, 'AF31'],
  [0x70, 'AF32'],
  [0x78, 'AF33'],
  [0x88, 'AF41'],
  [0x90, 'AF42'],
  [0x98, 'AF43'],
  [0x20, 'CS1'],
  [0x40, 'CS2'],
  [0x60, 'CS3'],
  [0x80, 'CS4'],
  [0xa0, 'CS5'],
  [0xc0, 'CS6'],
  [0xe0, 'CS7'],
  [0xb8, 'EF'],
];

export class DsfieldTable {
  /** index = value; iproute2 seeds entry 0 with "0" before reading the file. */
  private readonly names: Array<string | undefined> = new Array(256).fill(undefined);

  constructor(entries: Iterable<readonly [number, string]>) {
    this.names[0] = '0';
    for (const [value, name] of entries) if (value >= 0 && value < 256) this.names[value] = name;
  }

  /** Reads the system's rt_dsfield, as iproute2 does, or falls back to the stock table. */
  static system(): DsfieldTable {
    for (const file of FILES) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      return new DsfieldTable(parseRtTable(text));
    }
    return new DsfieldTable(STOCK);
  }

  static stock(): DsfieldTable {
    return new DsfieldTable(STOCK);
  }

  /** `rtnl_dsfield_a2n`: a name, or hex 0..ff (an optional 0x is allowed); undefined when neither. */
  parse(text: string): number | undefined {
    const index = this.names.indexOf(text);
    if (index >= 0) return index;
    if (text.length === 0) return undefined;
    const r = strtoul(text, 16);
    if (r.end === 0 || r.end !== text.length || r.value > 255n) return undefined;
    return Number(r.value);
  }

  /** `rtnl_dsfield_n2a`: the name, or `0x%02x`. */
  format(value: number): string {
    if (value < 0 || value >= 256) return String(value);
    return this.names[value] ?? `0x${value.toString(16).padStart(2, '0')}`;
  }
}

/** Lines `0xNN NAME` or `NN NAME`; `#` comments and blank lines skipped (lib/rt_names.c). */
export function parseRtTable(text: string): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:0x([0-9a-fA-F]+)|(-?[0-9]+))\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
    out.push([value, m[3]!]);
  }
  return out;
}
