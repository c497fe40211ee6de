/**
 * The classic walk-through (spec ip-tunnel.md section 4, scenarios 1-3) with the real kernel as host B:
 * burrow's tunnel on A, `ip tunnel` on B, a container network behind B (peer-lab.ts draws it), A routes
 * 172.16.0.0/16 through the tunnel. The container has no route back to the tunnel's addresses, so it
 * is unreachable until B masquerades what it forwards into docker0.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { KernelPeer } from './kernel-peer.js';
import {
  A, CONTAINER_ADDR, CONTAINER_GATEWAY, CONTAINER_LINK, KERNEL_STATS, addContainerNetwork, checkScripts,
  delta, kernelCountersFrom, moved, parsePing, peerLabFixture, pingCommand, runScripts, withPair,
} from './peer-lab.js';

const skip = KernelPeer.unavailable() ?? labUnavailableReason() ?? false;

describe('the classic walk-through with the kernel as host B', { skip, concurrency: false }, () => {
  const f = peerLabFixture();
  const NET = '10.0.0.0/24';
  const masquerade = `-t nat -A POSTROUTING -s ${NET} -o ${CONTAINER_LINK} -j MASQUERADE`;

  before(async () => {
    await addContainerNetwork(f.peer);
  });

  for (const mode of ['ipip', 'gre'] as const) {
    test(`${mode}: the container behind the kernel is reachable through burrow's tunnel once B masquerades`, async (t) => {
      await withPair(f, { mode, net: 0, both: 'ttl 64' }, async (p) => {
        await checkScripts(f.lab, A, [`ip route add 172.16.0.0/16 via ${p.bAddress}`]);
        const containerRx = () => 'ip -n c -j -s link show eth0';

        // Before: B forwards the echoes into docker0, the container gets them, but its replies to
        // 10.0.0.1 have no route.
        const [k0, c0] = await f.peer.runMany([KERNEL_STATS(p.name), containerRx()]);
        const [before] = await runScripts(f.lab, A, [pingCommand(CONTAINER_ADDR, 3)]);
        const [k1, c1] = await f.peer.runMany([KERNEL_STATS(p.name), containerRx()]);
        assert.equal(parsePing(before).received, 0, `unreachable without MASQUERADE: ${before.stdout}`);
        assert.deepEqual(moved(delta(kernelCountersFrom(k0.stdout, p.name), kernelCountersFrom(k1.stdout, p.name))), {
          rx_packets: 3, rx_bytes: 3 * 84,
        }, 'B took the echoes from the tunnel and sent nothing back');
        const rxOf = (r: { stdout: string }) => (JSON.parse(r.stdout) as { stats64: { rx: { packets: number } } }[])[0].stats64.rx.packets;
        assert.ok(rxOf(c1) - rxOf(c0) >= 3, 'the container got them');

        // After: B rewrites the source to its docker0 address, the replies come back through the tunnel.
        const cap = await f.peer.spawn(`ip netns exec c tcpdump -n -l -c 1 -i eth0 'icmp[icmptype] = icmp-echo'`);
        try {
          await cap.waitForOutput(/listening on eth0/);
          await f.peer.check(`iptables ${masquerade}`);
          const [after] = await runScripts(f.lab, A, [pingCommand(CONTAINER_ADDR, 3)]);
          const ping = parsePing(after);
          assert.equal(ping.received, 3, `reachable with MASQUERADE: ${ping.output}`);
          assert.match(ping.output, /ttl=63 /, 'one hop: B forwarded it; the tunnel is not a hop');
          const seen = await cap.wait(10_000);
          assert.match(seen.stdout, new RegExp(`IP ${CONTAINER_GATEWAY.replaceAll('.', '\\.')} > ${CONTAINER_ADDR.replaceAll('.', '\\.')}: ICMP echo request`), 'the container sees B as the source');
          t.diagnostic(seen.stdout.trim());
        } finally {
          await cap.stop('INT', 2_000).catch(() => undefined);
          await f.peer.run(`iptables ${masquerade.replace(' -A ', ' -D ')}`);
          await runScripts(f.lab, A, [`ip route del 172.16.0.0/16`]);
        }
      });
    });
  }
});
