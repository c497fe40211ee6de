/**
 * Interface names and indexes, as iproute2's ll_map resolves them (`dev NAME` in, `dev NAME` out).
 *
 * Names are looked up in /sys/class/net/NAME/ifindex (what if_nametoindex answers); like
 * `ll_name_to_index`, a name that is not a device but reads as `if%u` is taken as that index. Printing
 * an index with no device gives `if%u`, as `ll_index_to_name` does.
 */
import fs from 'node:fs';
import { isCSpace } from './inet.js';

export interface LinkTable {
  /** ifindex of the device called `name`, or 0. */
  indexOf(name: string): number;
  /** Name of the device with this ifindex, or undefined. */
  nameOf(index: number): string | undefined;
}

const SYSFS = '/sys/class/net';

/** Whether the kernel could have a device of this name (so that it is safe as a sysfs path part). */
function plausibleName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) < 16 && name !== '.' && name !== '..' && !name.includes('/');
}

export function sysfsLinks(root = SYSFS): LinkTable {
  return {
    indexOf(name) {
      if (!plausibleName(name)) return 0;
      try {
        const index = Number.parseInt(fs.readFileSync(`${root}/${name}/ifindex`, 'utf8'), 10);
        return Number.isInteger(index) && index > 0 ? index : 0;
      } catch {
        return 0;
      }
    },
    nameOf(index) {
      let entries: string[];
      try {
        entries = fs.readdirSync(root);
      } catch {
        return undefined;
      }
      for (const entry of entries) {
        try {
          if (Number.parseInt(fs.readFileSync(`${root}/${entry}/ifindex`, 'utf8'), 10) === index) return entry;
        } catch {
          // a device that vanished meanwhile
        }
      }
      return undefined;
    },
  };
}

/** A fixed table, for tests. */
export function staticLinks(devices: Record<string, number>): LinkTable {
  return {
    indexOf: (name) => devices[name] ?? 0,
    nameOf: (index) => Object.keys(devices).find((name) => devices[name] === index),
  };
}

/** `sscanf(name, "if%u", &idx)`: `if` then an optionally signed decimal (blanks allowed before it). */
function parseIfIndexName(name: string): number {
  if (!name.startsWith('if')) return 0;
  let i = 2;
  while (isCSpace(name[i])) i++;
  let negative = false;
  if (name[i] === '+' || name[i] === '-') negative = name[i++] === '-';
  const digits = /^[0-9]+/.exec(name.slice(i));
  if (!digits) return 0;
  let value = BigInt(digits[0]) & 0xffff_ffffn;
  if (negative) value = (0x1_0000_0000n - value) & 0xffff_ffffn;
  return Number(value);
}

/** `ll_name_to_index()`: the device's index, else the `if%u` form, else 0. */
export function linkIndex(links: LinkTable, name: string): number {
  return links.indexOf(name) || parseIfIndexName(name);
}

/** `ll_index_to_name()`: the device's name, else `if%u`. */
export function linkName(links: LinkTable, index: number): string {
  return links.nameOf(index) ?? `if${index >>> 0}`;
}
