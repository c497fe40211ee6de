/**
 * The full interop suite's part on output fidelity (`npm run test:interop:full`): tunnels made live in
 * the booted kernel with `ip tunnel add` and in burrow with `burrow tunnel add`, and `tunnel change`
 * on both, compared as printed. test/interop/fidelity.test.ts compares against the recorded gold
 * without booting, and says how outputs are compared; here nothing is normalised: the configurations
 * use addresses that are nobody's and names that imply no mode, so both sides print the same text.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { KernelPeer } from '../interop/kernel-peer.js';
import { linkHead } from '../interop/kernel-checks.js';
import { A, burrowCmd, peerLabFixture, runScripts } from '../interop/peer-lab.js';

const labSkip = labUnavailableReason() ?? false;

/**
 * Configurations beyond the gold's, made live in both: every one with addresses that are nobody's
 * (so the two sides print the same text), names that imply no mode (so `-j` and the list path run on
 * both), and the same underlay (eth0, MTU 1500, no route to the remotes from that source).
 */
const LIVE: { name: string; args: string }[] = [
  { name: 'fa1', args: 'mode ipip remote 198.51.100.1 local 203.0.113.1 ttl 1' },
  { name: 'fa2', args: 'mode ipip remote 198.51.100.2 local 203.0.113.1 tos AF41' },
  { name: 'fa3', args: 'mode ipip remote 198.51.100.3 local 203.0.113.1 tos inherit/EF ttl 200' },
  { name: 'fa4', args: 'mode ipip remote 198.51.100.4 local 203.0.113.1 tos 3' },
  { name: 'fa5', args: 'mode ipip remote 198.51.100.5 local 203.0.113.1 tos CS1 pmtudisc dev eth0' },
  { name: 'fb1', args: 'mode gre remote 198.51.100.11 local 203.0.113.1 key 0' },
  { name: 'fb2', args: 'mode gre remote 198.51.100.12 local 203.0.113.1 key 4294967295 tos 0x2c' },
  { name: 'fb3', args: 'mode gre remote 198.51.100.13 local 203.0.113.1 ikey 0.0.0.1 ocsum' },
  { name: 'fb4', args: 'mode gre remote 198.51.100.14 local 203.0.113.1 okey 7 iseq icsum nopmtudisc tos inherit' },
  { name: 'fb5', args: 'mode gre remote 198.51.100.15 local 203.0.113.1 ikey 5 okey 5 oseq ttl 9 dev eth0' },
  { name: 'fb6', args: 'mode gre local 203.0.113.1 key 3 csum' },
  { name: 'fb7', args: 'mode gre remote 198.51.100.17 local 203.0.113.1 tos inherit/0x10' },
  { name: 'fc1', args: 'mode sit remote 198.51.100.21 local 203.0.113.1 ttl 64 tos inherit' },
  { name: 'fc2', args: 'mode sit remote 198.51.100.22 local 203.0.113.1 nopmtudisc tos EF dev eth0' },
  { name: 'fc3', args: 'mode sit remote 198.51.100.23 local 203.0.113.1 ttl 255 tos inherit/AF21' },
];

/** `tunnel change NAME ...` (NAME first: the current settings are loaded, spec 1.5) after an add. */
const CHANGES: { name: string; add: string; change: string }[] = [
  { name: 'fd1', add: 'mode gre remote 198.51.100.31 local 203.0.113.1 key 1', change: 'key 2 ttl 30' },
  { name: 'fd2', add: 'mode gre remote 198.51.100.32 local 203.0.113.1 csum', change: 'okey 5 oseq' },
  { name: 'fd3', add: 'mode gre remote 198.51.100.33 local 203.0.113.1 key 7 seq csum', change: 'nopmtudisc' },
  { name: 'fd4', add: 'mode ipip remote 198.51.100.34 local 203.0.113.1 ttl 64', change: 'ttl inherit nopmtudisc' },
  { name: 'fd5', add: 'mode gre remote 198.51.100.35 local 203.0.113.1', change: 'remote any' },
  { name: 'fd6', add: 'mode sit remote 198.51.100.36 local 203.0.113.1', change: 'remote 198.51.100.37 tos inherit' },
  { name: 'fd7', add: 'mode gre local 203.0.113.1 key 9', change: 'remote 198.51.100.38' },
  { name: 'fd8', add: 'mode ipip remote 198.51.100.39 local 203.0.113.1', change: 'dev eth0 ttl 5' },
];

describe('output fidelity live: the same tunnels in the booted kernel and in burrow', {
  skip: KernelPeer.unavailable() ?? labSkip,
  concurrency: false,
}, () => {
  const f = peerLabFixture();

  test(`${LIVE.length} configurations: show NAME, -o show NAME, -j show NAME, the device's MTU`, async (t) => {
    const per = (ip: string, name: string, args: string) => [
      `${ip} tunnel add ${name} ${args}`,
      `${ip} tunnel show ${name}`,
      `${ip} -o tunnel show ${name}`,
      `${ip} -j tunnel show ${name}`,
      `ip -o link show ${name}`,
      `${ip} tunnel del ${name}`,
    ];
    const kernel = await f.peer.runMany(LIVE.flatMap((c) => per('ip', c.name, c.args)));
    const burrow = await runScripts(f.lab, A, LIVE.flatMap((c) => per(burrowCmd(f.lab), c.name, c.args)));
    LIVE.forEach((c, i) => {
      const k = kernel.slice(6 * i, 6 * i + 6);
      const b = burrow.slice(6 * i, 6 * i + 6);
      for (const [j, what] of ['add', 'show', '-o show', '-j show'].entries()) {
        assert.deepEqual(
          { code: b[j].code, stdout: b[j].stdout, stderr: b[j].stderr },
          { code: k[j].code, stdout: k[j].stdout, stderr: k[j].stderr },
          `${what}: ${c.name} ${c.args}`,
        );
      }
      assert.equal(linkHead(b[4].stdout).mtu, linkHead(k[4].stdout).mtu, `MTU of ${c.name} ${c.args}`);
      assert.equal(b[5].code, 0);
      assert.equal(k[5].code, 0);
    });
    t.diagnostic(LIVE.map((_, i) => kernel[6 * i + 1].stdout.trim()).join('\n'));
  });

  test(`${CHANGES.length} changes: the answer, then show NAME and the device's MTU`, async (t) => {
    const per = (ip: string, c: (typeof CHANGES)[number]) => [
      `${ip} tunnel add ${c.name} ${c.add}`,
      `${ip} tunnel change ${c.name} ${c.change}`,
      `${ip} tunnel show ${c.name}`,
      `ip -o link show ${c.name}`,
      `${ip} tunnel del ${c.name}`,
    ];
    const kernel = await f.peer.runMany(CHANGES.flatMap((c) => per('ip', c)));
    const burrow = await runScripts(f.lab, A, CHANGES.flatMap((c) => per(burrowCmd(f.lab), c)));
    CHANGES.forEach((c, i) => {
      const k = kernel.slice(5 * i, 5 * i + 5);
      const b = burrow.slice(5 * i, 5 * i + 5);
      const what = `${c.name} ${c.add}, then change ${c.change}`;
      assert.equal(k[0].code, 0, k[0].stderr);
      assert.equal(b[0].code, 0, b[0].stderr);
      for (const j of [1, 2]) {
        assert.deepEqual({ code: b[j].code, stdout: b[j].stdout, stderr: b[j].stderr }, { code: k[j].code, stdout: k[j].stdout, stderr: k[j].stderr }, what);
      }
      assert.equal(linkHead(b[3].stdout).mtu, linkHead(k[3].stdout).mtu, `MTU after: ${what}`);
      t.diagnostic(`${what}: ${k[1].code === 0 ? "" : k[1].stderr.trim() + "; "}${k[2].stdout.trim().replaceAll("\n", " | ")}; mtu ${linkHead(k[3].stdout).mtu}`);
    });
  });
});
