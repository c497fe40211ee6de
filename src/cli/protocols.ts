/**
 * IP protocol names, from the file iproute2's getprotobyname/getprotobynumber read: /etc/protocols.
 * `ip xfrm`'s selectors take `proto tcp` and print `proto icmp` through it; a number without a name
 * prints as the number. When the file is missing, the few names burrow's tests rely on are used.
 */
import fs from 'node:fs';

const STOCK: ReadonlyArray<readonly [string, number, string[]]> = [
  ['ip', 0, []],
  ['icmp', 1, []],
  ['ipencap', 4, []],
  ['tcp', 6, []],
  ['udp', 17, []],
  ['dccp', 33, []],
  ['ipv6', 41, []],
  ['gre', 47, []],
  ['esp', 50, ['ipv6-crypt']],
  ['ah', 51, ['ipv6-auth']],
  ['ipv6-icmp', 58, []],
  ['sctp', 132, []],
  ['mobility-header', 135, []],
  ['udplite', 136, []],
];

export class ProtocolTable {
  private readonly byName = new Map<string, number>();
  private readonly byNumber = new Map<number, string>();

  /** Entries: official name, number, aliases (the first entry for a number names it, as glibc does). */
  constructor(entries: Iterable<readonly [string, number, readonly string[]]>) {
    for (const [name, number, aliases] of entries) {
      for (const n of [name, ...aliases]) if (!this.byName.has(n)) this.byName.set(n, number);
      if (!this.byNumber.has(number)) this.byNumber.set(number, name);
    }
  }

  static system(file = '/etc/protocols'): ProtocolTable {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return new ProtocolTable(STOCK);
    }
    const entries: Array<[string, number, string[]]> = [];
    for (const line of text.split('\n')) {
      const words = line.replace(/#.*/, '').trim().split(/\s+/);
      if (words.length < 2 || !/^\d+$/.test(words[1]!)) continue;
      entries.push([words[0]!, Number(words[1]), words.slice(2)]);
    }
    return new ProtocolTable(entries);
  }

  /** getprotobyname (names are case-sensitive). */
  number(name: string): number | undefined {
    return this.byName.get(name);
  }

  /** strxf_proto: the name, or the number. */
  name(number: number): string {
    return this.byNumber.get(number) ?? String(number);
  }
}
