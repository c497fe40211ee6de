/**
 * `burrow tunnel show` output: one print path for text and JSON, as iproute2's print_tunnel().
 *
 * Each field is written once through a `Printer` call that says where it goes, like iproute2's
 * `print_string(PRINT_ANY | PRINT_FP | PRINT_JSON, key, fmt, value)`: text mode renders the format,
 * JSON mode writes the key and value. The line (spec 2.1):
 *
 *   NAME: MODE remote R local L[ pdr A| pr A][ dev D] ttl T|inherit[ tos X][ nopmtudisc]
 *   [ 6rd-prefix P/len[ 6rd-relay_prefix R/len]][ key K | ikey I okey O][GRE flag lines]
 *
 * With `-s` (list mode only) the four counter lines of ip/tunnel.c follow in text; in JSON a `stats64`
 * object shaped like `ip -j -s link show` takes their place, so the JSON stays valid (iproute2 6.1 prints
 * the text block into its JSON). With `-o` every newline inside an entry becomes `\`. The JSON is laid
 * out byte for byte as iproute2 6.1 lays it out, including the newline it writes after each entry.
 */
import type { TunnelInfo } from '../control/protocol.js';
import { PRL_SHOWN } from '../tunnel/isatap.js';
import { GRE_CSUM, GRE_KEY, GRE_SEQ, SIT_ISATAP, protocolOfMode } from '../tunnel/params.js';
import { defaultSixRd } from '../tunnel/sixrd.js';
import type { TunnelStats } from '../tunnel/stats.js';
import type { DsfieldTable } from './dsfield.js';
import { formatIpv4, formatIpv6 } from './inet.js';
import { JsonWriter } from './json.js';
import { linkName, type LinkTable } from './links.js';

/** What `show` prints for one tunnel: the daemon's TunnelInfo (with its 6rd and PRL, when it has them). */
export type ShownTunnel = TunnelInfo;

export interface PrintOptions {
  json: boolean;
  pretty: boolean;
  oneline: boolean;
  /** How many times `-s` was given. */
  stats: number;
  links: LinkTable;
  dsfield: DsfieldTable;
}

type Target = 'any' | 'fp' | 'json';

/** iproute2's print_* family over either a text buffer or a JsonWriter. */
class Printer {
  private text = '';

  constructor(readonly json: JsonWriter | undefined) {}

  private textOn(target: Target): boolean {
    return this.json === undefined && target !== 'json';
  }

  private jsonOn(target: Target): JsonWriter | undefined {
    return target === 'fp' ? undefined : this.json;
  }

  /** `format` has one `%s`, replaced by the value in text mode. */
  string(target: Target, key: string | null, format: string, value: string): void {
    if (this.textOn(target)) this.text += format.replace('%s', value);
    const json = this.jsonOn(target);
    if (json) {
      if (key !== null) json.name(key);
      json.string(value);
    }
  }

  uint(target: Target, key: string, format: string, value: number): void {
    if (this.textOn(target)) this.text += format.replace('%u', String(value >>> 0));
    this.jsonOn(target)?.name(key).number(value >>> 0);
  }

  /** `print_null`: a bare word in text, `"key": null` in JSON. */
  null(target: Target, key: string, format: string): void {
    if (this.textOn(target)) this.text += format;
    this.jsonOn(target)?.name(key).null();
  }

  /** Text only (what iproute2 writes with printf). */
  raw(text: string): void {
    if (this.json === undefined) this.text += text;
  }

  openObject(): void {
    this.json?.startObject();
  }

  closeObject(): void {
    this.json?.endObject();
  }

  openArray(key: string): void {
    this.json?.name(key).startArray();
  }

  closeArray(): void {
    this.json?.endArray();
  }

  take(): string {
    const t = this.text;
    this.text = '';
    return t;
  }
}

/** `tnl_strproto()`. */
function protocolName(protocol: number): string {
  switch (protocol) {
    case 4:
      return 'ip';
    case 47:
      return 'gre';
    case 41:
      return 'ipv6';
    case 50:
      return 'esp';
    case 137:
      return 'mpls';
    case 0:
      return 'any';
    default:
      return 'unknown';
  }
}

function printTunnel(out: Printer, tunnel: ShownTunnel, options: PrintOptions, newline: string): void {
  const p = tunnel.params;
  const protocol = protocolOfMode(p.mode);
  const json = out.json !== undefined;
  out.openObject();
  out.string('any', 'ifname', '%s: ', p.name);
  out.string('any', 'mode', '%s ', `${protocolName(protocol)}/ip`);
  // JSON shows 0.0.0.0 where text says any.
  out.raw('remote ');
  out.string('any', 'remote', '%s ', p.remote !== 0 || json ? formatIpv4(p.remote) : 'any');
  out.raw('local ');
  out.string('any', 'local', '%s', p.local !== 0 || json ? formatIpv4(p.local) : 'any');

  if (protocol === 41 && (p.mode === 'isatap' || (p.iflags & SIT_ISATAP) !== 0)) {
    for (const entry of (tunnel.prl ?? []).slice(0, PRL_SHOWN)) {
      if (entry.address === 0) continue;
      const key = entry.isDefault ? 'pdr' : 'pr';
      out.string('any', key, ` ${key} %s`, formatIpv4(entry.address));
    }
  }

  if (p.link !== 0) out.string('any', 'dev', ' dev %s', linkName(options.links, p.link));

  if (p.ttl !== 0) out.uint('any', 'ttl', ' ttl %u', p.ttl);
  else out.string('fp', 'ttl', ' ttl %s', 'inherit');

  if (p.tos !== 0) {
    if (p.tos === 1) {
      out.string('fp', null, ' tos %s', 'inherit');
    } else {
      // Text splits the inherit bit off (inherit/AF11); JSON gives the whole byte's name.
      const text =
        !json && (p.tos & 1) !== 0 ? `inherit/${options.dsfield.format(p.tos & ~1)}` : options.dsfield.format(p.tos);
      out.string('any', 'tos', ' tos %s', text);
    }
  }

  if (!p.pmtudisc) out.null('any', 'nopmtudisc', ' nopmtudisc');

  if (protocol === 41) {
    const sixRd = tunnel.sixRd ?? defaultSixRd();
    if (sixRd.prefixLength !== 0) {
      out.string('any', '6rd-prefix', ' 6rd-prefix %s', formatIpv6(prefixBytes(sixRd.prefix)));
      out.uint('any', '6rd-prefixlen', '/%u', sixRd.prefixLength);
      if (sixRd.relayPrefix !== 0) {
        out.string('any', '6rd-relay_prefix', ' 6rd-relay_prefix %s', formatIpv4(sixRd.relayPrefix));
        out.uint('any', '6rd-relay_prefixlen', '/%u', sixRd.relayPrefixLength);
      }
    }
  }

  // tnl_print_gre_flags()
  const ikeyed = (p.iflags & GRE_KEY) !== 0;
  const okeyed = (p.oflags & GRE_KEY) !== 0;
  if (ikeyed && okeyed && p.ikey === p.okey) {
    out.uint('any', 'key', ' key %u', p.ikey);
  } else {
    if (ikeyed) out.uint('any', 'ikey', ' ikey %u', p.ikey);
    if (okeyed) out.uint('any', 'okey', ' okey %u', p.okey);
  }
  if (protocol === 47) {
    out.openArray('flags');
    const flag = (on: boolean, key: string, line: string) => {
      if (!on) return;
      out.string('json', null, '%s', key);
      out.raw(`${newline}  ${line}`);
    };
    flag((p.iflags & GRE_SEQ) !== 0, 'rx_drop_ooseq', 'Drop packets out of sequence.');
    flag((p.iflags & GRE_CSUM) !== 0, 'rx_csum', 'Checksum in received packet is required.');
    flag((p.oflags & GRE_SEQ) !== 0, 'tx_seq', 'Sequence packets on output.');
    flag((p.oflags & GRE_CSUM) !== 0, 'tx_csum', 'Checksum output packets.');
    out.closeArray();
  }
}

/** The 16 prefix bytes, also when they crossed the control socket as JSON (an array or an index map). */
function prefixBytes(prefix: Uint8Array | ArrayLike<number> | Record<string, number>): Uint8Array {
  const bytes = new Uint8Array(16);
  const source = prefix as Record<number, number>;
  for (let i = 0; i < 16; i++) bytes[i] = source[i] ?? 0;
  return bytes;
}

function pad(value: number, width: number): string {
  return String(value).padEnd(width, ' ');
}

/** ip/tunnel.c `tnl_print_stats()`: four lines after the tunnel line (text). */
function statsText(s: TunnelStats, newline: string): string {
  return (
    newline +
    `RX: Packets    Bytes        Errors CsumErrs OutOfSeq Mcasts${newline}` +
    `    ${pad(s.rxPackets, 10)} ${pad(s.rxBytes, 12)} ${pad(s.rxErrors, 6)} ${pad(s.rxFrameErrors, 8)} ` +
    `${pad(s.rxFifoErrors, 8)} ${pad(s.multicast, 8)}${newline}` +
    `TX: Packets    Bytes        Errors DeadLoop NoRoute  NoBufs${newline}` +
    `    ${pad(s.txPackets, 10)} ${pad(s.txBytes, 12)} ${pad(s.txErrors, 6)} ${pad(s.collisions, 8)} ` +
    `${pad(s.txCarrierErrors, 8)} ${pad(s.txDropped, 6)}`
  );
}

/**
 * burrow's own addition with `-s -s`: how many packets the tunnel dropped, by reason (tunnel/drop.ts),
 * so that every Errors count above can be explained. iproute2 prints nothing here.
 */
function dropsText(drops: Record<string, number>, newline: string): string {
  const reasons = Object.keys(drops).sort();
  if (reasons.length === 0) return '';
  return `${newline}Drops: ${reasons.map((r) => `${r} ${drops[r]}`).join(', ')}`;
}

export function dropsJson(json: JsonWriter, drops: Record<string, number>): void {
  json.name('drops').startObject();
  for (const reason of Object.keys(drops).sort()) json.name(reason).number(drops[reason]);
  json.endObject();
}

/**
 * `stats64` as `ip -j -s link show` prints it (`-s -s` adds the error details). Counters that tunnels
 * never move (over, missed, window, heartbeat errors) are 0, as for the kernel's tunnels.
 */
export function statsJson(json: JsonWriter, s: TunnelStats, level: number): void {
  const field = (key: string, value: number) => json.name(key).number(value);
  json.name('stats64').startObject();
  json.name('rx').startObject();
  field('bytes', s.rxBytes);
  field('packets', s.rxPackets);
  field('errors', s.rxErrors);
  field('dropped', s.rxDropped);
  field('over_errors', 0);
  field('multicast', s.multicast);
  if (level > 1) {
    field('length_errors', s.rxLengthErrors);
    field('crc_errors', s.rxCrcErrors);
    field('frame_errors', s.rxFrameErrors);
    field('fifo_errors', s.rxFifoErrors);
    field('missed_errors', 0);
  }
  json.endObject();
  json.name('tx').startObject();
  field('bytes', s.txBytes);
  field('packets', s.txPackets);
  field('errors', s.txErrors);
  field('dropped', s.txDropped);
  field('carrier_errors', s.txCarrierErrors);
  field('collisions', s.collisions);
  if (level > 1) {
    field('aborted_errors', s.txAbortedErrors);
    field('fifo_errors', s.txFifoErrors);
    field('window_errors', 0);
    field('heartbeat_errors', 0);
  }
  json.endObject();
  json.endObject();
}

/**
 * The output of `show` for these tunnels, in order. `withStats` is true only in list mode (spec 1.6);
 * it then prints the counters when `-s` was given.
 */
export function formatTunnels(tunnels: readonly ShownTunnel[], options: PrintOptions, withStats: boolean): string {
  const newline = options.oneline ? '\\' : '\n';
  const showStats = withStats && options.stats > 0;
  if (options.json) {
    const json = new JsonWriter(options.pretty);
    const out = new Printer(json);
    json.startArray();
    for (const tunnel of tunnels) {
      printTunnel(out, tunnel, options, newline);
      if (showStats) statsJson(json, tunnel.stats, options.stats);
      if (showStats && options.stats > 1) dropsJson(json, tunnel.drops);
      out.closeObject();
      // ip/tunnel.c ends every entry with a newline, in JSON too: `[{...}\n,{...}\n]`.
      json.raw('\n');
    }
    json.endArray();
    return json.finish();
  }
  const out = new Printer(undefined);
  let text = '';
  for (const tunnel of tunnels) {
    printTunnel(out, tunnel, options, newline);
    text += out.take();
    if (showStats) text += statsText(tunnel.stats, newline);
    if (showStats && options.stats > 1) text += dropsText(tunnel.drops, newline);
    text += '\n';
  }
  return text;
}
