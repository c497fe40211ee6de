import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, validateTopology } from '../topology.js';
import {
  A_TUNNEL, A_UNDERLAY, B_TUNNEL, B_UNDERLAY, CONTAINER_ADDR, CONTAINER_GATEWAY, CONTAINER_LINK, CONTAINER_NET,
  NODE, ROUTER_A_SIDE, ROUTER_B_SIDE, TUNNEL_NET, classicTopology,
} from './classic.js';

test('the classic topology is valid', () => {
  assert.deepEqual(validateTopology(classicTopology()), []);
});

test('the classic topology has the walk-through addresses', () => {
  const t = classicTopology();
  const addressesOf = (node: string): string[] => [
    ...t.links.flatMap((l) => [l.a, l.b]).filter((e) => e.node === node).flatMap((e) => e.addresses ?? []),
    ...(t.nodes.find((n) => n.name === node)?.bridges ?? []).flatMap((b) => b.addresses ?? []),
  ];
  assert.deepEqual(addressesOf(NODE.A), [`${A_UNDERLAY}/24`]);
  assert.deepEqual(addressesOf(NODE.R).sort(), [`${ROUTER_A_SIDE}/24`, `${ROUTER_B_SIDE}/24`].sort());
  assert.deepEqual(addressesOf(NODE.B).sort(), [`${B_UNDERLAY}/24`, `${CONTAINER_GATEWAY}/16`].sort());
  assert.deepEqual(addressesOf(NODE.C), [`${CONTAINER_ADDR}/16`]);
  const b = t.nodes.find((n) => n.name === NODE.B)!;
  assert.equal(b.forwarding, true);
  assert.equal(b.bridges?.[0].name, CONTAINER_LINK);
  assert.equal(t.nodes.find((n) => n.name === NODE.R)?.kind, 'router');
});

test('the container has no route that covers the tunnel subnet', () => {
  const c = classicTopology().nodes.find((n) => n.name === NODE.C)!;
  assert.deepEqual(c.routes ?? [], []);
  const container = parseCidr(CONTAINER_NET)!;
  const tunnel = parseCidr(TUNNEL_NET)!;
  assert.notEqual(container.network, tunnel.network);
  for (const a of [A_TUNNEL, B_TUNNEL]) assert.equal(parseCidr(`${a}/24`)!.network, tunnel.network);
});
