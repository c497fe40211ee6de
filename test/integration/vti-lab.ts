/**
 * Helpers for vti with ESP on the classic topology (A and B across router R): a vti on each end, the
 * `burrow xfrm` states and policies that join them (mark 42, SPIs 0x100 from A to B and 0x200 back),
 * and a state's counters as `burrow -s xfrm state list` prints them.
 *
 *   A vti1 10.0.0.1 (192.168.0.1) --- R --- (192.168.100.1) 10.0.0.2 vti1 B
 */
import assert from 'node:assert/strict';
import type { Lab } from '../../src/lab/netns.js';
import { A, A_TUNNEL, A_UNDERLAY, B, B_TUNNEL, B_UNDERLAY, burrowOk } from './tunnel-lab.js';

export const GCM = ['aead', 'rfc4106(gcm(aes))', '0x4a6f686e20446f65207761732068657265010203', '128'];
export const CBC = ['enc', 'cbc(aes)', '0x000102030405060708090a0b0c0d0e0f', 'auth-trunc', 'hmac(sha256)', '0x' + '11'.repeat(32), '128'];

/** `vti1` with key 42 on A and B, up, with 10.0.0.1/24 and 10.0.0.2/24, IPv6 off. */
export async function vtiPair(lab: Lab, name = 'vti1'): Promise<void> {
  for (const [ns, local, remote, own] of [
    [A, A_UNDERLAY, B_UNDERLAY, A_TUNNEL],
    [B, B_UNDERLAY, A_UNDERLAY, B_TUNNEL],
  ] as const) {
    await burrowOk(lab, ns, ['tunnel', 'add', name, 'mode', 'vti', 'remote', remote, 'local', local, 'key', '42']);
    await lab.run(ns, ['sysctl', '-qw', `net.ipv6.conf.${name}.disable_ipv6=1`]);
    await lab.ip(ns, ['link', 'set', name, 'up']);
    await lab.ip(ns, ['addr', 'add', `${own}/24`, 'dev', name]);
  }
}

/**
 * States and policies on one side (`local` to `remote`), mark 42, SPIs 0x100 (A to B) and 0x200 (B to
 * A); `policyExtra` goes after each policy's mark (a priority, say).
 */
export async function ipsec(lab: Lab, ns: string, local: string, remote: string, algorithm: string[], policyExtra: string[] = []): Promise<void> {
  const outSpi = ns === A ? '0x100' : '0x200';
  const inSpi = ns === A ? '0x200' : '0x100';
  const x = (...args: string[]) => burrowOk(lab, ns, ['xfrm', ...args]);
  await x('state', 'add', 'src', local, 'dst', remote, 'proto', 'esp', 'spi', outSpi, 'mode', 'tunnel', 'mark', '42', ...algorithm);
  await x('state', 'add', 'src', remote, 'dst', local, 'proto', 'esp', 'spi', inSpi, 'mode', 'tunnel', 'replay-window', '32', 'mark', '42', ...algorithm);
  await x('policy', 'add', 'dir', 'out', 'tmpl', 'src', local, 'dst', remote, 'proto', 'esp', 'mode', 'tunnel', 'mark', '42', ...policyExtra);
  await x('policy', 'add', 'dir', 'in', 'tmpl', 'src', remote, 'dst', local, 'proto', 'esp', 'mode', 'tunnel', 'mark', '42', ...policyExtra);
}

/** Both ends' states and policies, as ipsec() makes them. */
export async function ipsecBoth(lab: Lab, algorithm: string[], policyExtra: string[] = []): Promise<void> {
  await ipsec(lab, A, A_UNDERLAY, B_UNDERLAY, algorithm, policyExtra);
  await ipsec(lab, B, B_UNDERLAY, A_UNDERLAY, algorithm, policyExtra);
}

/** Every state and policy of A and B gone. */
export async function flush(lab: Lab): Promise<void> {
  for (const ns of [A, B]) {
    await burrowOk(lab, ns, ['xfrm', 'state', 'flush']);
    await burrowOk(lab, ns, ['xfrm', 'policy', 'flush']);
  }
}

/** `ip -s xfrm state`'s current bytes and packets of one SPI, as burrow lists them. */
export async function stateCounters(lab: Lab, ns: string, spi: string): Promise<{ bytes: number; packets: number; oseq: number; seq: number }> {
  const text = await burrowOk(lab, ns, ['-s', 'xfrm', 'state', 'list', 'spi', spi]);
  const current = /lifetime current:\n\s+(\d+)\(bytes\), (\d+)\(packets\)/.exec(text);
  const replay = /anti-replay context: seq 0x([0-9a-f]+), oseq 0x([0-9a-f]+)/.exec(text);
  assert.ok(current && replay, text);
  return { bytes: Number(current[1]), packets: Number(current[2]), seq: parseInt(replay[1]!, 16), oseq: parseInt(replay[2]!, 16) };
}
