/**
 * `burrow xfrm state` and `burrow xfrm policy` output: iproute2 6.1's text (ip/ipxfrm.c
 * xfrm_state_info_print, xfrm_policy_info_print, xfrm_selector_print, xfrm_tmpl_print, and the SAD/SPD
 * counts), byte for byte for the configurations burrow holds, with `-s` and `-o`; and burrow's JSON.
 *
 * Keys: the text shows them as `ip xfrm state` does (`0x...`), or `<<Keys hidden>>` with `nokeys`.
 * iproute2 6.1 has no JSON for xfrm (it prints the text); burrow's `-j` is its own layout and never
 * carries key material, only each key's length in bits.
 */
import { formatIpv4 } from './inet.js';
import { JsonWriter } from './json.js';
import { linkName, type LinkTable } from './links.js';
import type { ProtocolTable } from './protocols.js';
import { modeName, xfrmProtoName } from './xfrm-args.js';
import type { XfrmPolicyInfo, XfrmTemplate } from '../xfrm/policy.js';
import { IPPROTO_DCCP, IPPROTO_MH, IPPROTO_SCTP, type Selector } from '../xfrm/selector.js';
import type { XfrmMark, XfrmStateInfo } from '../xfrm/state.js';

export interface XfrmPrintOptions {
  stats: number;
  oneline: boolean;
  json: boolean;
  pretty: boolean;
  links: LinkTable;
  protocols: ProtocolTable;
  /** strxf_time: seconds since the epoch as local `YYYY-MM-DD HH:MM:SS` (tests pin the zone). */
  time(seconds: number): string;
}

/** localtime + strftime("%Y-%m-%d %T"). */
export function localTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** printf's %#x: 0 without the prefix. */
function altHex(n: number): string {
  return n === 0 ? '0' : `0x${(n >>> 0).toString(16)}`;
}

/** strxf_mask8: the low byte as eight binary digits. */
function mask8(n: number): string {
  return (n & 0xff).toString(2).padStart(8, '0');
}

/** The `seq` of a state as iproute2 prints it: the field in network order, read as a host number, %08u. */
function seqField(seq: number): string {
  const swapped = (((seq & 0xff) << 24) | ((seq & 0xff00) << 8) | ((seq >>> 8) & 0xff00) | (seq >>> 24)) >>> 0;
  return String(swapped).padStart(8, '0');
}

function time(o: XfrmPrintOptions, seconds: number): string {
  return seconds === 0 ? '-' : o.time(seconds);
}

/** One entry's text, with `_SL_`: a newline, or `\` on one line (`-o`, the entry then ends in a newline). */
class Lines {
  private text = '';

  constructor(private readonly oneline: boolean) {}

  put(s: string): this {
    this.text += s;
    return this;
  }

  /** `_SL_`. */
  end(): this {
    this.text += this.oneline ? '\\' : '\n';
    return this;
  }

  finish(): string {
    return this.oneline ? this.text + '\n' : this.text;
  }
}

/** xfrm_selector_print: `src A/L dst A/L [proto P ][ports ][dev D ][uid 0]` and _SL_. */
function selector(out: Lines, sel: Selector, o: XfrmPrintOptions): void {
  out.put(`src ${formatIpv4(sel.src)}/${sel.srcLength} dst ${formatIpv4(sel.dst)}/${sel.dstLength} `);
  if (sel.proto !== 0) out.put(`proto ${o.protocols.name(sel.proto)} `);
  switch (sel.proto) {
    case 1:
    case 58:
      if (sel.sportMask) out.put(`type ${sel.sport} `);
      if (sel.dportMask) out.put(`code ${sel.dport} `);
      break;
    case 47:
      if (sel.sportMask || sel.dportMask) out.put(`key ${((sel.sport << 16) >>> 0) + sel.dport} `);
      break;
    case IPPROTO_MH:
      if (sel.sportMask) out.put(`type ${sel.sport} `);
      if (sel.dportMask && o.stats > 0) out.put(`(dport) 0x${sel.dport.toString(16).padStart(4, '0')} `);
      break;
    default:
      if (sel.sportMask) out.put(`sport ${sel.sport} `);
      if (sel.dportMask) out.put(`dport ${sel.dport} `);
  }
  if (sel.ifindex > 0) out.put(`dev ${linkName(o.links, sel.ifindex)} `);
  if (o.stats > 0) out.put('uid 0');
  out.end();
}

function mark(out: Lines, m: XfrmMark): void {
  if ((m.value | m.mask) !== 0) out.put(`\tmark ${altHex(m.value)}/${altHex(m.mask)} `).end();
}

/** xfrm_lifetime_print: burrow's states and policies have no limits (INF, 0 seconds). */
function lifetime(out: Lines, current: { bytes: number; packets: number; addTime: number; useTime: number }, o: XfrmPrintOptions): void {
  out.put('\tlifetime config:').end();
  out.put('\t  limit: soft (INF)(bytes), hard (INF)(bytes)').end();
  out.put('\t  limit: soft (INF)(packets), hard (INF)(packets)').end();
  out.put('\t  expire add: soft 0(sec), hard 0(sec)').end();
  out.put('\t  expire use: soft 0(sec), hard 0(sec)').end();
  out.put('\tlifetime current:').end();
  out.put(`\t  ${current.bytes}(bytes), ${current.packets}(packets)`).end();
  out.put(`\t  add ${time(o, current.addTime)} use ${time(o, current.useTime)}`).end();
}

function key(k: string, nokeys: boolean, o: XfrmPrintOptions): string {
  if (nokeys) return '<<Keys hidden>>';
  return `0x${k}${o.stats > 0 ? ` (${(k.length / 2) * 8} bits)` : ''}`;
}

/** xfrm_state_info_print for one state. */
function stateText(x: XfrmStateInfo, o: XfrmPrintOptions, nokeys: boolean): string {
  const out = new Lines(o.oneline);
  const s = o.stats > 0;
  out.put(`src ${formatIpv4(x.src)} dst ${formatIpv4(x.dst)}`).end();
  out.put(`\tproto ${xfrmProtoName(x.proto)} spi 0x${hex8(x.spi)}${s ? `(${x.spi >>> 0})` : ''} `);
  out.put(`reqid ${x.reqid >>> 0}${s ? `(0x${hex8(x.reqid)})` : ''} mode ${modeName(x.mode)}`).end();
  out.put(`\treplay-window ${x.replayWindow} `);
  if (s) out.put(`seq 0x${seqField(x.seq)} `);
  if (s || x.flags !== 0) out.put('flag ');
  if (s) out.put(` (0x${mask8(x.flags)})`);
  out.end();
  mark(out, x.mark);
  if (x.auth) out.put(`\tauth-trunc ${x.auth.name} ${key(x.auth.key, nokeys, o)} ${x.auth.truncBits}`).end();
  if (x.aead) out.put(`\taead ${x.aead.name} ${key(x.aead.key, nokeys, o)} ${x.aead.icvBits}`).end();
  if (x.enc) out.put(`\tenc ${x.enc.name} ${key(x.enc.key, nokeys, o)}`).end();
  out.put(`\tanti-replay context: seq 0x${x.replay.seq.toString(16)}, oseq 0x${x.replay.oseq.toString(16)}, bitmap 0x${hex8(x.replay.bitmap)}`).end();
  out.put('\tsel ');
  selector(out, x.sel, o);
  if (s) {
    lifetime(out, x.lifetime, o);
    out.put('\tstats:').end();
    out.put(`\t  replay-window ${x.stats.replayWindow} replay ${x.stats.replay} failed ${x.stats.integrityFailed}`).end();
  }
  return out.finish();
}

/** xfrm_tmpl_print for one template, with the `\t` prefix a policy gives it. */
function template(out: Lines, t: XfrmTemplate, o: XfrmPrintOptions): void {
  const s = o.stats > 0;
  out.put(`\ttmpl src ${formatIpv4(t.src)} dst ${formatIpv4(t.dst)}`).end();
  out.put(`\t\tproto ${xfrmProtoName(t.proto)} `);
  if (s || t.spi !== 0) out.put(`spi 0x${hex8(t.spi)}${s ? `(${t.spi >>> 0})` : ''} `);
  out.put(`reqid ${t.reqid >>> 0}${s ? `(0x${hex8(t.reqid)})` : ''} mode ${modeName(t.mode)}`).end();
  if (s || t.optional) {
    out.put(`\t\t${t.optional ? 'level use ' : 'level required '}${s ? 'share any ' : ''}`).end();
  }
  if (s) out.put('\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff').end();
}

/** xfrm_policy_info_print for one policy. */
function policyText(p: XfrmPolicyInfo, o: XfrmPrintOptions): string {
  const out = new Lines(o.oneline);
  const s = o.stats > 0;
  selector(out, p.sel, o);
  out.put(`\tdir ${['in', 'out', 'fwd'][p.dir] ?? String(p.dir)} `);
  if (p.action === 1) out.put('action block ');
  else if (s) out.put('action allow ');
  if (s) out.put(`index ${p.index} `);
  out.put(`priority ${p.priority} ptype ${p.ptype === 0 ? 'main' : 'sub'} `);
  if (s) out.put('share any flag ');
  if (s) out.put(` (0x${mask8(p.flags)})`);
  out.end();
  if (s) lifetime(out, { bytes: 0, packets: 0, addTime: p.lifetime.addTime, useTime: p.lifetime.useTime }, o);
  mark(out, p.mark);
  for (const t of p.tmpls) template(out, t, o);
  return out.finish();
}

// ----- JSON ------------------------------------------------------------------------------------------

function jsonSelector(w: JsonWriter, sel: Selector, o: XfrmPrintOptions): void {
  w.name('sel').startObject();
  w.name('src').string(`${formatIpv4(sel.src)}/${sel.srcLength}`);
  w.name('dst').string(`${formatIpv4(sel.dst)}/${sel.dstLength}`);
  if (sel.proto !== 0) w.name('proto').string(o.protocols.name(sel.proto));
  const ports = sel.proto === 6 || sel.proto === 17 || sel.proto === IPPROTO_SCTP || sel.proto === IPPROTO_DCCP;
  if (sel.sportMask) w.name(ports ? 'sport' : 'type').number(sel.sport);
  if (sel.dportMask) w.name(ports ? 'dport' : 'code').number(sel.dport);
  if (sel.ifindex > 0) w.name('dev').string(linkName(o.links, sel.ifindex));
  w.endObject();
}

function jsonMark(w: JsonWriter, m: XfrmMark): void {
  if ((m.value | m.mask) !== 0) w.name('mark').startObject().name('value').number(m.value >>> 0).name('mask').number(m.mask >>> 0).endObject();
}

function jsonState(w: JsonWriter, x: XfrmStateInfo, o: XfrmPrintOptions): void {
  w.startObject();
  w.name('src').string(formatIpv4(x.src));
  w.name('dst').string(formatIpv4(x.dst));
  w.name('proto').string(xfrmProtoName(x.proto));
  w.name('spi').number(x.spi >>> 0);
  w.name('reqid').number(x.reqid >>> 0);
  w.name('mode').string(modeName(x.mode));
  w.name('replay-window').number(x.replayWindow);
  jsonMark(w, x.mark);
  const bits = (hex: string) => (hex.length / 2) * 8;
  if (x.auth) w.name('auth-trunc').startObject().name('name').string(x.auth.name).name('key-bits').number(bits(x.auth.key)).name('trunc-bits').number(x.auth.truncBits).endObject();
  if (x.aead) w.name('aead').startObject().name('name').string(x.aead.name).name('key-bits').number(bits(x.aead.key)).name('icv-bits').number(x.aead.icvBits).endObject();
  if (x.enc) w.name('enc').startObject().name('name').string(x.enc.name).name('key-bits').number(bits(x.enc.key)).endObject();
  w.name('anti-replay').startObject().name('seq').number(x.replay.seq).name('oseq').number(x.replay.oseq).name('bitmap').number(x.replay.bitmap).endObject();
  jsonSelector(w, x.sel, o);
  if (o.stats > 0) {
    w.name('lifetime').startObject().name('bytes').number(x.lifetime.bytes).name('packets').number(x.lifetime.packets);
    w.name('add').number(x.lifetime.addTime).name('use').number(x.lifetime.useTime).endObject();
    w.name('stats').startObject().name('replay-window').number(x.stats.replayWindow).name('replay').number(x.stats.replay);
    w.name('failed').number(x.stats.integrityFailed).endObject();
  }
  if (x.lastUsed !== 0) w.name('lastused').number(x.lastUsed);
  w.endObject();
}

function jsonPolicy(w: JsonWriter, p: XfrmPolicyInfo, o: XfrmPrintOptions): void {
  w.startObject();
  jsonSelector(w, p.sel, o);
  w.name('dir').string(['in', 'out', 'fwd'][p.dir] ?? String(p.dir));
  w.name('action').string(p.action === 1 ? 'block' : 'allow');
  w.name('index').number(p.index);
  w.name('priority').number(p.priority);
  w.name('ptype').string(p.ptype === 0 ? 'main' : 'sub');
  jsonMark(w, p.mark);
  w.name('tmpl').startArray();
  for (const t of p.tmpls) {
    w.startObject().name('src').string(formatIpv4(t.src)).name('dst').string(formatIpv4(t.dst));
    w.name('proto').string(xfrmProtoName(t.proto)).name('spi').number(t.spi >>> 0).name('reqid').number(t.reqid >>> 0);
    w.name('mode').string(modeName(t.mode)).name('level').string(t.optional ? 'use' : 'required').endObject();
  }
  w.endArray();
  if (o.stats > 0) w.name('lifetime').startObject().name('add').number(p.lifetime.addTime).name('use').number(p.lifetime.useTime).endObject();
  w.endObject();
}

function jsonList<T>(items: readonly T[], o: XfrmPrintOptions, one: (w: JsonWriter, item: T, o: XfrmPrintOptions) => void): string {
  const w = new JsonWriter(o.pretty);
  w.startArray();
  for (const item of items) one(w, item, o);
  w.endArray();
  return w.finish();
}

export function formatStates(states: readonly XfrmStateInfo[], o: XfrmPrintOptions, nokeys: boolean): string {
  if (o.json) return jsonList(states, o, jsonState);
  return states.map((x) => stateText(x, o, nokeys)).join('');
}

export function formatPolicies(policies: readonly XfrmPolicyInfo[], o: XfrmPrintOptions): string {
  if (o.json) return jsonList(policies, o, jsonPolicy);
  return policies.map((p) => policyText(p, o)).join('');
}

/** print_sadinfo. */
export function formatStateCount(c: { count: number; buckets: number; max: number }, o: XfrmPrintOptions): string {
  if (o.json) {
    const w = new JsonWriter(o.pretty).startObject().name('count').number(c.count);
    if (o.stats > 0) w.name('buckets').number(c.buckets).name('max').number(c.max);
    return w.endObject().finish();
  }
  return `\t SAD count ${c.count}${o.stats > 0 ? ` (buckets count ${c.buckets} Max ${c.max})` : ''}\n`;
}

/** print_spdinfo. */
export function formatPolicyCount(c: { in: number; out: number; fwd: number; buckets: number; max: number }, o: XfrmPrintOptions): string {
  if (o.json) {
    const w = new JsonWriter(o.pretty).startObject().name('in').number(c.in).name('out').number(c.out).name('fwd').number(c.fwd);
    if (o.stats > 1) w.name('buckets').number(c.buckets).name('max').number(c.max);
    return w.endObject().finish();
  }
  const out = new Lines(o.oneline);
  out.put(`\t SPD IN  ${c.in} OUT ${c.out} FWD ${c.fwd}${o.stats > 0 ? ' (Sock: IN 0 OUT 0 FWD 0)' : ''}`).end();
  if (o.stats > 1) {
    out.put(`\t SPD buckets: count ${c.buckets} Max ${c.max}`).end();
    out.put('\t SPD IPv4 thresholds: local 32 remote 32').end();
    out.put('\t SPD IPv6 thresholds: local 128 remote 128').end();
  }
  return out.finish();
}
