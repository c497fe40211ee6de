import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTopology, parseCidr, validateTopology, type TopologySpec } from './topology.js';

/** Two hosts on one link, each problem test mutates a fresh copy. */
function pair(): TopologySpec {
  return {
    name: 'pair',
    nodes: [
      { name: 'x', kind: 'host', routes: [{ to: '10.9.0.0/16', via: '10.1.0.2' }] },
      { name: 'y', kind: 'router', bridges: [{ name: 'br0', addresses: ['10.2.0.1/24'] }] },
      { name: 'z', kind: 'container' },
    ],
    links: [
      { a: { node: 'x', ifname: 'eth0', addresses: ['10.1.0.1/24'] }, b: { node: 'y', ifname: 'eth0', addresses: ['10.1.0.2/24'] }, mtu: 1400 },
      { a: { node: 'y', ifname: 'p0', bridge: 'br0' }, b: { node: 'z', ifname: 'eth0', addresses: ['10.2.0.5/24', '2001:db8::5/64'] } },
    ],
  };
}

function problemsAfter(mutate: (t: TopologySpec) => void): string[] {
  const t = pair();
  mutate(t);
  return validateTopology(t);
}

test('parseCidr gives family, prefix length and IPv4 network', () => {
  assert.deepEqual(parseCidr('172.16.0.5/16'), {
    family: 4, address: '172.16.0.5', prefixLength: 16, value: 0xac100005, network: 0xac100000,
  });
  assert.deepEqual(parseCidr('10.0.0.0/0')?.network, 0);
  assert.deepEqual(parseCidr('2001:db8::1/64'), { family: 6, address: '2001:db8::1', prefixLength: 64 });
  for (const bad of ['10.0.0.1', '10.0.0.1/33', '10.0.0.1/', '10.0.0.1/08', '2001:db8::1/129', 'x/8']) {
    assert.equal(parseCidr(bad), null, bad);
  }
});

test('a sound topology has no problems', () => {
  assert.deepEqual(validateTopology(pair()), []);
});

test('validation names every problem', () => {
  const cases: [string, (t: TopologySpec) => void, RegExp][] = [
    ['duplicate node', (t) => t.nodes.push({ name: 'x', kind: 'host' }), /node "x" is defined twice/],
    ['bad node name', (t) => { t.nodes[2].name = 'Z!'; }, /node "Z!": the name/],
    ['unknown kind', (t) => { (t.nodes[2] as { kind: string }).kind = 'switch'; }, /unknown kind "switch"/],
    ['unknown node in link', (t) => { t.links[0].b.node = 'q'; }, /unknown node "q"/],
    ['interface name too long', (t) => { t.links[0].a.ifname = 'a-very-long-name'; }, /bad interface name "a-very-long-name"/],
    ['interface name with slash', (t) => { t.links[0].a.ifname = 'a/b'; }, /bad interface name "a\/b"/],
    ['interface twice', (t) => { t.links[1].a.ifname = 'eth0'; }, /interface "eth0" already exists on node "y"/],
    ['bridge name clash', (t) => { t.nodes[1].bridges![0].name = 'eth0'; t.links[1].a.bridge = 'eth0'; }, /interface "eth0" already exists/],
    ['lo is taken', (t) => { t.links[0].a.ifname = 'lo'; }, /interface "lo" already exists on node "x"/],
    ['mtu too small', (t) => { t.links[0].mtu = 67; }, /MTU 67 is outside 68-65535/],
    ['mtu not an integer', (t) => { t.links[0].mtu = 1400.5; }, /MTU 1400.5/],
    ['bridge MTU', (t) => { t.nodes[1].bridges![0].mtu = 70000; }, /bridge "br0": MTU 70000/],
    ['missing bridge', (t) => { t.links[1].a.bridge = 'br9'; }, /has no bridge "br9"/],
    ['address on a bridge port', (t) => { t.links[1].a.addresses = ['10.2.0.9/24']; }, /is a port of br0; put its addresses on the bridge/],
    ['bad address', (t) => { t.links[0].a.addresses = ['10.1.0.1']; }, /bad address "10.1.0.1"/],
    ['address used twice', (t) => { t.links[0].b.addresses = ['10.1.0.1/24']; }, /address 10.1.0.1 is already used/],
    ['route prefix with host bits', (t) => { t.nodes[0].routes![0].to = '10.9.0.1/16'; }, /the prefix has host bits set/],
    ['route bad prefix', (t) => { t.nodes[0].routes![0].to = 'nowhere'; }, /bad prefix/],
    ['route without via or dev', (t) => { t.nodes[0].routes = [{ to: 'default' }]; }, /needs "via" or "dev"/],
    ['route gateway off-link', (t) => { t.nodes[0].routes![0].via = '10.3.0.1'; }, /gateway 10.3.0.1 is on none of the node's networks/],
    ['route gateway is self', (t) => { t.nodes[0].routes![0].via = '10.1.0.1'; }, /gateway 10.1.0.1 is the node's own address/],
    ['route gateway family', (t) => { t.nodes[0].routes![0].via = '2001:db8::1'; }, /not of the prefix's family/],
    ['route bad gateway', (t) => { t.nodes[0].routes![0].via = '10.1.0'; }, /bad gateway "10.1.0"/],
    ['route dev unknown', (t) => { t.nodes[0].routes = [{ to: 'default', dev: 'eth7' }]; }, /has no interface "eth7"/],
    ['bad sysctl name', (t) => { t.nodes[0].sysctls = { 'ip_forward;reboot': 1 }; }, /bad sysctl name/],
    ['sysctl value with newline', (t) => { t.nodes[0].sysctls = { 'net.ipv4.ip_forward': '1\n2' }; }, /has a newline/],
  ];
  for (const [name, mutate, expected] of cases) {
    const problems = problemsAfter(mutate);
    assert.ok(problems.some((p) => expected.test(p)), `${name}: ${JSON.stringify(problems)}`);
  }
});

test('a gateway on a bridge address is on-link', () => {
  const problems = problemsAfter((t) => { t.nodes[2].routes = [{ to: 'default', via: '10.2.0.1' }]; });
  assert.deepEqual(problems, []);
});

test('describeTopology lists nodes, interfaces, peers and routes', () => {
  const text = describeTopology(pair(), { x: 'bwlab-t-x' }).join('\n');
  assert.match(text, /^X  host  netns bwlab-t-x$/m);
  assert.match(text, /^Y  router, forwarding$/m);
  assert.match(text, /eth0 10\.1\.0\.1\/24 \(to Y eth0, mtu 1400\)/);
  assert.match(text, /br0 10\.2\.0\.1\/24 \(bridge; ports p0\)/);
  assert.match(text, /p0 \(in br0, to Z eth0, mtu 1500\)/);
  assert.match(text, /route 10\.9\.0\.0\/16 via 10\.1\.0\.2/);
});
