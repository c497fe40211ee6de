import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeGreHeader } from '../wire/gre.js';
import { writeIpv4Header } from '../wire/ipv4.js';
import { encapsulateGre } from './gre.js';
import { encapsulateIpip } from './ipip.js';
import { MAX_NESTING, tunnelNesting } from './ip-tunnel.js';
import { HEADROOM, newEncapResult } from './mode.js';
import { GRE_KEY } from './params.js';
import { ip, ipv4Echo, upTunnel } from './test-helpers.js';

/** An echo request wrapped `depth` times: ipip, or gre with a key on every second layer. */
function nested(depth: number, gre = false): Uint8Array {
  const echo = ipv4Echo('10.0.0.1', '10.0.0.2');
  let p: Uint8Array = echo.bytes.subarray(echo.start, echo.start + echo.length);
  for (let i = 0; i < depth; i++) {
    const useGre = gre && i % 2 === 1;
    const header = useGre ? 8 : 0;
    const q = new Uint8Array(20 + header + p.length);
    writeIpv4Header(q, 0, 0, q.length, 0, true, 64, useGre ? 47 : 4, ip('192.0.2.1'), ip('198.51.100.1'));
    if (useGre) writeGreHeader(q, 20, GRE_KEY, 0x0800, 7, 0);
    q.set(p, 20 + header);
    p = q;
  }
  return p;
}

test('tunnelNesting counts ipip and gre layers, walks into a first fragment, stops at a later one', () => {
  for (let d = 0; d <= 10; d++) {
    const p = nested(d, true);
    assert.equal(tunnelNesting(p, 0, p.length), Math.min(d, MAX_NESTING), `depth ${d}`);
  }
  const p = nested(5);
  p[6] = 0x20; // MF, offset 0: a first fragment, headers follow
  assert.equal(tunnelNesting(p, 0, p.length), 5);
  p[7] = 1; // offset 8: what follows is the middle of a payload
  assert.equal(tunnelNesting(p, 0, p.length), 1);
  assert.equal(tunnelNesting(p, 0, 19), 0, 'too short to be IPv4');
  const sit = nested(1);
  sit[9] = 41; // IPv6 inside: burrow's loops are IPv4, the walk ends
  assert.equal(tunnelNesting(sit, 0, sit.length), 1);
});

test('a packet already inside 8 tunnels is a dead loop (tunnels routed into each other), a shallower one goes', () => {
  for (const [encapsulate, mode] of [[encapsulateIpip, 'ipip'], [encapsulateGre, 'gre']] as const) {
    const t = upTunnel({ name: 't', mode, local: ip('192.0.2.1'), remote: ip('198.51.100.1'), pmtudisc: false });
    t.routeMtu = 9000;
    for (const [depth, expected] of [[MAX_NESTING - 1, null], [MAX_NESTING, 'dead-loop']] as const) {
      const inner = nested(depth);
      const bytes = Buffer.alloc(HEADROOM + inner.length);
      bytes.set(inner, HEADROOM);
      assert.equal(encapsulate(t, bytes, HEADROOM, inner.length, newEncapResult()), expected, `${mode} at depth ${depth}`);
    }
  }
});
