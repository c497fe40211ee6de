import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRE_CSUM, GRE_KEY, GRE_SEQ, SIT_ISATAP, VTI_ISVTI, defaultTunnelParams, type TunnelParams } from '../tunnel/params.js';
import { DsfieldTable } from './dsfield.js';
import { FakeClient } from './fake-client.js';
import { staticLinks } from './links.js';
import { AF_INET6, AF_PACKET, defaultOptions, type GlobalOptions } from './options.js';
import { emptyParm, parseTunnelArgs, runTunnelCommand, type Parm, type TunnelContext } from './tunnel.js';
import { UsageError, daemonUnreachable } from './usage-errors.js';

const LINKS = staticLinks({ lo: 1, eth0: 2, eth1: 3 });

interface TestContext extends TunnelContext {
  fake: FakeClient;
  /** How many times the command asked for the daemon. */
  contacts: number;
}

function context(fake = new FakeClient(), options: Partial<GlobalOptions> = {}): TestContext {
  const ctx: TestContext = {
    fake,
    contacts: 0,
    options: { ...defaultOptions(), ...options },
    links: LINKS,
    dsfield: DsfieldTable.stock(),
    client: async () => {
      ctx.contacts++;
      return fake;
    },
  };
  return ctx;
}

async function parse(args: string, cmd: 'add' | 'change' | 'del' | 'show' = 'add', ctx = context()): Promise<Parm> {
  return parseTunnelArgs(args === '' ? [] : args.split(' '), cmd, ctx);
}

/** Runs `tunnel ARGS` and returns the UsageError it throws. */
async function failure(args: string[], ctx = context()): Promise<UsageError> {
  try {
    await runTunnelCommand(args, ctx);
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
    return error;
  }
  assert.fail(`tunnel ${args.join(' ')} succeeded`);
}

function expectParm(actual: Parm, expected: Partial<Parm>): void {
  assert.deepEqual(actual, { ...emptyParm(), ...expected });
}

describe('tunnel argument parsing (spec 1.2, 1.3)', () => {
  it('starts from all zero with DF on', async () => {
    expectParm(await parse('mode ipip'), { protocol: 4 });
  });

  const modes: Array<[string, Partial<Parm>]> = [
    ['mode ipip', { protocol: 4 }],
    ['mode ip/ip', { protocol: 4 }],
    ['mode gre', { protocol: 47 }],
    ['mode gre/ip', { protocol: 47 }],
    ['mode sit', { protocol: 41 }],
    ['mode ipv6/ip', { protocol: 41 }],
    ['mode isatap', { protocol: 41, iflags: SIT_ISATAP }],
    ['mode vti', { protocol: 4, iflags: VTI_ISVTI }],
    ['mode gre mode gre/ip', { protocol: 47 }],
  ];
  for (const [args, expected] of modes) {
    it(args, async () => expectParm(await parse(args), expected));
  }

  it('infers the mode from the name prefix', async () => {
    expectParm(await parse('gre5'), { name: 'gre5', protocol: 47 });
    expectParm(await parse('ipip9'), { name: 'ipip9', protocol: 4 });
    expectParm(await parse('sit2'), { name: 'sit2', protocol: 41 });
    expectParm(await parse('isatap0'), { name: 'isatap0', protocol: 41, iflags: SIT_ISATAP });
    expectParm(await parse('vti3'), { name: 'vti3', protocol: 4, iflags: VTI_ISVTI });
    expectParm(await parse('ip0'), { name: 'ip0' });
    expectParm(await parse('gr'), { name: 'gr' });
    // An explicit mode wins over the name.
    expectParm(await parse('gre5 mode ipip'), { name: 'gre5', protocol: 4 });
  });

  const addresses: Array<[string, number]> = [
    ['192.168.2.20', 0xc0a80214],
    ['any', 0],
    ['all', 0],
    ['default', 0],
    ['10.8', 0x0a080000],
    ['1.2.3', 0x01020300],
    ['1', 0x01000000],
    ['0x1.010.3.4', 0x01080304],
    ['0xff.0.0.1', 0xff000001],
    [' 1.2.3.4', 0x01020304],
    ['+1.2.3.4', 0x01020304],
    ['-0.1.2.3', 0x00010203],
    ['255.255.255.255', 0xffffffff],
  ];
  for (const [text, value] of addresses) {
    it(`remote ${JSON.stringify(text)} and local`, async () => {
      const p = await parseTunnelArgs(['mode', 'gre', 'remote', text, 'local', text], 'add', context());
      // 255.255.255.255 and 224/4 are not multicast-checked here: only 224/4 is multicast.
      assert.equal(p.remote, value);
      assert.equal(p.local, value);
    });
  }

  it('keys: key, ikey, okey, dotted, C bases', async () => {
    expectParm(await parse('mode gre key 42'), { protocol: 47, iflags: GRE_KEY, oflags: GRE_KEY, ikey: 42, okey: 42 });
    expectParm(await parse('mode gre key 1.2.3.4'), {
      protocol: 47,
      iflags: GRE_KEY,
      oflags: GRE_KEY,
      ikey: 16909060,
      okey: 16909060,
    });
    expectParm(await parse('mode gre key 0.0.0.42'), { protocol: 47, iflags: GRE_KEY, oflags: GRE_KEY, ikey: 42, okey: 42 });
    expectParm(await parse('mode gre ikey 0x10'), { protocol: 47, iflags: GRE_KEY, ikey: 16 });
    expectParm(await parse('mode gre okey 010'), { protocol: 47, oflags: GRE_KEY, okey: 8 });
    expectParm(await parse('mode gre key 4294967295'), {
      protocol: 47,
      iflags: GRE_KEY,
      oflags: GRE_KEY,
      ikey: 0xffffffff,
      okey: 0xffffffff,
    });
    expectParm(await parse('mode vti key 3'), { protocol: 4, iflags: VTI_ISVTI | GRE_KEY, oflags: GRE_KEY, ikey: 3, okey: 3 });
    expectParm(await parse('vti1 key 3'), {
      name: 'vti1',
      protocol: 4,
      iflags: VTI_ISVTI | GRE_KEY,
      oflags: GRE_KEY,
      ikey: 3,
      okey: 3,
    });
  });

  it('seq and csum flags', async () => {
    expectParm(await parse('mode gre seq'), { protocol: 47, iflags: GRE_SEQ, oflags: GRE_SEQ });
    expectParm(await parse('mode gre iseq'), { protocol: 47, iflags: GRE_SEQ });
    expectParm(await parse('mode gre oseq'), { protocol: 47, oflags: GRE_SEQ });
    expectParm(await parse('mode gre csum'), { protocol: 47, iflags: GRE_CSUM, oflags: GRE_CSUM });
    expectParm(await parse('mode gre icsum'), { protocol: 47, iflags: GRE_CSUM });
    expectParm(await parse('mode gre ocsum'), { protocol: 47, oflags: GRE_CSUM });
    // Allowed (and meaningless) for the other modes, as in iproute2.
    expectParm(await parse('mode ipip seq csum'), { protocol: 4, iflags: GRE_SEQ | GRE_CSUM, oflags: GRE_SEQ | GRE_CSUM });
  });

  it('pmtudisc and nopmtudisc', async () => {
    expectParm(await parse('mode gre nopmtudisc'), { protocol: 47, df: false });
    expectParm(await parse('mode gre nopmtudisc pmtudisc'), { protocol: 47, df: true });
  });

  it('ttl, hoplimit, hlim', async () => {
    expectParm(await parse('mode gre ttl 64'), { protocol: 47, ttl: 64 });
    expectParm(await parse('mode gre hoplimit 0x10'), { protocol: 47, ttl: 16 });
    expectParm(await parse('mode gre hlim 255'), { protocol: 47, ttl: 255 });
    expectParm(await parse('mode gre ttl inherit'), { protocol: 47, ttl: 0 });
    expectParm(await parse('mode gre ttl 0'), { protocol: 47, ttl: 0 });
    // `inherit` keeps an earlier value, as in iproute2.
    expectParm(await parse('mode gre ttl 5 ttl inherit'), { protocol: 47, ttl: 5 });
  });

  const toses: Array<[string, number]> = [
    ['tos 10', 0x10],
    ['tos 0x10', 0x10],
    ['tos ff', 0xff],
    ['tos inherit', 0x01],
    ['tos inherit/AF11', 0x29],
    ['tos inherit/10', 0x11],
    ['tos AF11', 0x28],
    ['tos EF', 0xb8],
    ['tos CS7', 0xe0],
    ['tos default', 0],
    ['tos AF11/x', 0x28],
    ['tclass 20', 0x20],
    ['dsfield 30', 0x30],
    ['ds 30', 0x30],
    ['d 30', 0x30],
  ];
  for (const [args, tos] of toses) {
    it(args, async () => expectParm(await parse(`mode gre ${args}`), { protocol: 47, tos }));
  }

  it('dev by name and by if%u', async () => {
    expectParm(await parse('mode gre dev eth0'), { protocol: 47, link: 2 });
    expectParm(await parse('mode gre dev if7'), { protocol: 47, link: 7 });
  });

  it('names: bare, after `name`, and words that are only names there', async () => {
    expectParm(await parse('t1 mode ipip'), { name: 't1', protocol: 4 });
    expectParm(await parse('name help mode ipip'), { name: 'help', protocol: 4 });
    expectParm(await parse('name mode mode ipip'), { name: 'mode', protocol: 4 });
    expectParm(await parse('. mode ipip'), { name: '.', protocol: 4 });
    expectParm(await parse('123456789012345 mode ipip'), { name: '123456789012345', protocol: 4 });
  });

  it('a multicast remote becomes both keys unless keys were given', async () => {
    expectParm(await parse('mode gre remote 224.1.2.3 local 10.0.0.1'), {
      protocol: 47,
      remote: 0xe0010203,
      local: 0x0a000001,
      iflags: GRE_KEY,
      oflags: GRE_KEY,
      ikey: 0xe0010203,
      okey: 0xe0010203,
    });
    expectParm(await parse('mode gre remote 239.1.1.1 local 10.0.0.1 ikey 5'), {
      protocol: 47,
      remote: 0xef010101,
      local: 0x0a000001,
      iflags: GRE_KEY,
      oflags: GRE_KEY,
      ikey: 5,
      okey: 0xef010101,
    });
    // Every mode, before the key check would see it.
    expectParm(await parse('mode ipip remote 224.0.0.1 local 10.0.0.1'), {
      protocol: 4,
      remote: 0xe0000001,
      local: 0x0a000001,
      iflags: GRE_KEY,
      oflags: GRE_KEY,
      ikey: 0xe0000001,
      okey: 0xe0000001,
    });
  });

  const errors: Array<[string, string, number]> = [
    ['add mode gre key abc', 'invalid value for "key": "abc"; it should be an unsigned integer', 255],
    ['add mode gre ikey -1', 'invalid value for "ikey": "-1"; it should be an unsigned integer', 255],
    ['add mode gre okey 4294967296', 'invalid value for "okey": "4294967296"; it should be an unsigned integer', 255],
    ['add mode gre key 1.2.3.x', 'Error: an IP address is expected rather than "1.2.3.x"', 1],
    ['add mode gre ttl 256', 'Error: argument "256" is wrong: invalid TTL\n', 255],
    ['add mode gre tos zz', 'Error: argument "zz" is wrong: bad TOS value', 255],
    ['add mode gre tos inherit/zz', 'Error: argument "inherit" is wrong: bad TOS value', 255],
    ['add mode gre tos af11', 'Error: argument "af11" is wrong: bad TOS value', 255],
    ['add mode ipip key 1', 'Keys are not allowed with ipip and sit tunnels', 1],
    ['add isatap0 key 1', 'Keys are not allowed with ipip and sit tunnels', 1],
    ['add x key 1', 'Keys are not allowed with ipip and sit tunnels', 1],
    ['add x', 'cannot determine tunnel mode (ipip, gre, vti or sit)', 1],
    ['add x mode gre ttl 5 nopmtudisc', 'ttl != 0 and nopmtudisc are incompatible', 1],
    ['add x mode gre nopmtudisc ttl 5', 'ttl != 0 and nopmtudisc are incompatible', 1],
    ['add x mode gre mode ipip', 'You managed to ask for more than one tunnel mode.', 255],
    ['add x mode gre mode vti', 'You managed to ask for more than one tunnel mode.', 255],
    ['add x mode foo', 'Unknown tunnel mode "foo"', 255],
    ['add x mode', 'Command line is not complete. Try option "help"', 255],
    ['add x t2', 'Error: either "name" is duplicate, or "t2" is a garbage.', 255],
    ['add 1234567890123456 mode gre', 'Error: argument "1234567890123456" is wrong: "name" not a valid ifname', 255],
    ['add a/b mode gre', 'Error: argument "a/b" is wrong: "name" not a valid ifname', 255],
    ['add x mode gre remote ::1', 'Error: an IP address is expected rather than "::1"', 1],
    ['add x mode gre remote 256.1.1.1', 'Error: an IP address is expected rather than "256.1.1.1"', 1],
    ['add x mode gre remote 1.2.3.4.', 'Error: an IP address is expected rather than "1.2.3.4."', 1],
    ['add x mode gre remote 08.1.1.1', 'Error: an IP address is expected rather than "08.1.1.1"', 1],
    ['add x mode gre remote 224.1.1.1', 'A broadcast tunnel requires a source address', 1],
    ['add x mode gre dev nope', 'Cannot find device "nope"', 1],
    // Order: keys before dev, dev before the broadcast check.
    ['add x mode ipip key 1 dev nope', 'Keys are not allowed with ipip and sit tunnels', 1],
    ['add x mode gre dev nope remote 224.1.1.1', 'Cannot find device "nope"', 1],
    ['add x remote 224.1.1.1 ttl 3 nopmtudisc', 'A broadcast tunnel requires a source address', 1],
    // prl and 6rd
    ['prl', 'Must specify device', 255],
    ['prl prl-default 1.2.3.4', 'Must specify device', 255],
    ['prl prl-default 1.2.3.4 prl-delete 1.2.3.5 dev x', 'One PRL entry at a time', 255],
    ['prl foo', 'Invalid PRL parameter "foo"', 255],
    ['prl help', 'Invalid PRL parameter "help"', 255],
    ['prl prl-default', 'Command line is not complete. Try option "help"', 255],
    ['prl prl-default ::1 dev sit1', 'Error: an IP address is expected rather than "::1"', 1],
    ['prl dev 1234567890123456', 'Error: argument "1234567890123456" is wrong: "dev" not a valid ifname', 255],
    ['6rd', 'Must specify device', 255],
    ['6rd foo', 'Invalid 6RD parameter "foo"', 255],
    ['6rd dev sit1 6rd-prefix 1.2.3.4/8', 'Error: inet6 prefix is expected rather than "1.2.3.4/8".', 1],
    ['6rd dev sit1 6rd-relay_prefix 2001::/8', 'Error: inet prefix is expected rather than "2001::/8".', 1],
    ['6rd dev sit1 6rd-relay_prefix 10.0.0.0/33', 'Error: inet prefix is expected rather than "10.0.0.0/33".', 1],
  ];
  for (const [args, message, exitCode] of errors) {
    it(`${args} -> ${JSON.stringify(message)}`, async () => {
      const ctx = context();
      const error = await failure(args.split(' '), ctx);
      assert.equal(error.message, message);
      assert.equal(error.exitCode, exitCode);
      assert.equal(ctx.contacts, 0, 'a parse error must come before any daemon contact');
    });
  }

  it('help and its prefixes print the usage wherever a name could be', async () => {
    for (const args of [['help'], ['h'], ['add', 'help'], ['add', 'x', 'he'], ['show', 'hel'], ['del', 'mode', 'gre', 'h']]) {
      const error = await failure(args);
      assert.equal(error.kind, 'usage');
      assert.equal(error.exitCode, 255);
      assert.match(error.message, /^Usage: burrow tunnel \{ add \| change \| del \| show \| prl \| 6rd \} \[ NAME \]\n/);
    }
  });
});

describe('tunnel commands against the daemon', () => {
  const gre1 = (over: Partial<TunnelParams> = {}) =>
    FakeClient.tunnel({ name: 'gre1', mode: 'gre', remote: 0xc0a80214, local: 0xc0a8010a, ttl: 64, ...over }, 11);

  it('add sends what iproute2 would put in SIOCADDTUNNEL', async () => {
    const ctx = context();
    const out = await runTunnelCommand('add vpn0 mode ipip remote 192.168.2.20 local 192.168.1.10 ttl 64'.split(' '), ctx);
    assert.equal(out, '');
    assert.deepEqual(ctx.fake.requests, [
      {
        op: 'tunnel.add',
        params: { ...defaultTunnelParams(), name: 'vpn0', mode: 'ipip', remote: 0xc0a80214, local: 0xc0a8010a, ttl: 64 },
      },
    ]);
  });

  it('command words match by prefix, in iproute2 order', async () => {
    const ctx = context();
    await runTunnelCommand(['a', 'x1', 'mode', 'gre'], ctx);
    await runTunnelCommand(['c', 'mode', 'gre', 'x1', 'ttl', '3'], ctx);
    await runTunnelCommand(['d', 'x1'], ctx);
    assert.deepEqual(
      ctx.fake.requests.map((r) => r.op),
      ['tunnel.add', 'tunnel.change', 'tunnel.del'],
    );
    for (const word of ['s', 'sh', 'show', 'l', 'ls', 'lst', 'list']) {
      assert.equal(await runTunnelCommand([word], context()), '');
    }
    assert.equal((await failure(['frob'])).message, 'Command "frob" is unknown, try "burrow tunnel help"');
    assert.equal((await failure([''])).message, 'Command "" is unknown, try "burrow tunnel help"');
  });

  it('refusals name the fallback device for add, as iproute2 does', async () => {
    const cases: Array<[string, string]> = [
      ['add t mode ipip', 'add tunnel "tunl0" failed: File exists'],
      ['add t mode gre', 'add tunnel "gre0" failed: File exists'],
      ['add t mode sit', 'add tunnel "sit0" failed: File exists'],
      ['add gre7', 'add tunnel "gre0" failed: File exists'],
    ];
    for (const [args, message] of cases) {
      const ctx = context();
      ctx.fake.failures.set('tunnel.add', 'EEXIST');
      const error = await failure(args.split(' '), ctx);
      assert.equal(error.message, message);
      assert.equal(error.exitCode, 1);
      assert.equal(error.kind, 'kernel');
    }
    const ctx = context();
    ctx.fake.failures.set('tunnel.add', 'ENOBUFS');
    assert.equal((await failure(['add', 't', 'mode', 'sit'], ctx)).message, 'add tunnel "sit0" failed: No buffer space available');
  });

  it('change NAME first loads the current settings and changes only what is given', async () => {
    const ctx = context(new FakeClient([gre1({ iflags: GRE_KEY, oflags: GRE_KEY, ikey: 42, okey: 42, link: 2 })]));
    await runTunnelCommand(['change', 'gre1', 'ttl', '32'], ctx);
    assert.deepEqual(ctx.fake.requests[0], { op: 'tunnel.get', name: 'gre1' });
    assert.deepEqual(ctx.fake.requests[1], {
      op: 'tunnel.change',
      name: 'gre1',
      params: { ...gre1().params, ttl: 32, iflags: GRE_KEY, oflags: GRE_KEY, ikey: 42, okey: 42, link: 2 },
    });
  });

  it('change with NAME later starts from the defaults', async () => {
    const ctx = context(new FakeClient([gre1()]));
    await runTunnelCommand(['change', 'mode', 'gre', 'gre1', 'ttl', '32'], ctx);
    assert.deepEqual(ctx.fake.requests, [
      {
        op: 'tunnel.change',
        name: 'gre1',
        params: { ...defaultTunnelParams(), name: 'gre1', mode: 'gre', ttl: 32 },
      },
    ]);
  });

  it('change: a different mode than the loaded one, a missing tunnel, a refusal', async () => {
    assert.equal(
      (await failure(['change', 'gre1', 'mode', 'ipip'], context(new FakeClient([gre1()])))).message,
      'You managed to ask for more than one tunnel mode.',
    );
    // The load happens while parsing, so it comes before later argument errors.
    const missing = await failure(['change', 'gre9', 'ttl', '256']);
    assert.equal(missing.message, 'get tunnel "gre9" failed: No such device');
    assert.equal(missing.exitCode, 1);
    const ctx = context(new FakeClient([gre1()]));
    ctx.fake.failures.set('tunnel.change', 'EINVAL');
    assert.equal((await failure(['change', 'gre1', 'remote', 'any'], ctx)).message, 'add tunnel "gre1" failed: Invalid argument');
    const unnamed = context();
    unnamed.fake.failures.set('tunnel.change', 'ENOENT');
    assert.equal(
      (await failure(['change', 'mode', 'gre', 'remote', '1.2.3.4'], unnamed)).message,
      'add tunnel "gre0" failed: No such file or directory',
    );
    assert.equal((await failure(['change'])).message, 'cannot determine tunnel mode (ipip, gre, vti or sit)');
  });

  it('del by name, by parameters through the fallback, or neither', async () => {
    const ctx = context(new FakeClient([gre1()]));
    await runTunnelCommand(['del', 'gre1'], ctx);
    assert.equal(ctx.fake.tunnels.size, 0);
    assert.equal((await failure(['del', 'gre1'], ctx)).message, 'delete tunnel "gre1" failed: No such device');
    assert.equal(
      (await failure(['del', 'mode', 'gre', 'remote', '1.1.1.1'], ctx)).message,
      'delete tunnel "gre0" failed: No such file or directory',
    );
    const before = ctx.contacts;
    assert.equal((await failure(['del'], ctx)).message, 'delete tunnel "" failed: No such device');
    assert.equal(ctx.contacts, before);
    assert.deepEqual(ctx.fake.requests[0], { op: 'tunnel.del', name: 'gre1', params: { ...defaultTunnelParams(), mode: 'gre', name: 'gre1' } });
  });

  it('show with a mode and a name queries that tunnel only, and never prints counters', async () => {
    const ctx = context(new FakeClient([gre1()]), { stats: 1 });
    assert.equal(await runTunnelCommand(['show', 'gre1'], ctx), 'gre1: gre/ip remote 192.168.2.20 local 192.168.1.10 ttl 64\n');
    assert.deepEqual(ctx.fake.requests, [{ op: 'tunnel.get', name: 'gre1' }]);
    assert.equal((await failure(['show', 'gre9'], ctx)).message, 'get tunnel "gre9" failed: No such device');
    // The queried tunnel is printed whatever mode was asked for (SIOCGETTUNNEL on the device).
    assert.match(await runTunnelCommand(['show', 'mode', 'ipip', 'gre1'], ctx), /^gre1: gre\/ip /);
  });

  it('show lists in ifindex order and filters by name, dev, remote, local and ikey', async () => {
    const fake = new FakeClient([
      FakeClient.tunnel({ name: 'vpn0', mode: 'ipip', remote: 0x01010101, local: 0x02020202 }, 12),
      FakeClient.tunnel({ name: 'gre2', mode: 'gre', remote: 0x01010101, iflags: GRE_KEY, ikey: 5, link: 2 }, 11),
      FakeClient.tunnel({ name: 'sit1', mode: 'sit', local: 0x02020202 }, 13),
    ]);
    const names = async (args: string) => {
      const out = await runTunnelCommand(args.split(' '), context(fake));
      return out.split('\n').filter(Boolean).map((line) => line.split(':')[0]);
    };
    assert.deepEqual(await names('show'), ['gre2', 'vpn0', 'sit1']);
    assert.deepEqual(await names('show vpn0'), ['vpn0']);
    assert.deepEqual(await names('show nothere'), []);
    assert.deepEqual(await names('show dev eth0'), ['gre2']);
    assert.deepEqual(await names('show remote 1.1.1.1'), ['gre2', 'vpn0']);
    assert.deepEqual(await names('show local 2.2.2.2'), ['vpn0', 'sit1']);
    assert.deepEqual(await names('show mode gre ikey 5'), ['gre2']);
    assert.equal(await runTunnelCommand(['show', 'mode', 'gre', 'ikey', '6'], context(fake)), '');
  });

  it('show mode M without a name lists every tunnel of that driver (no fallback devices)', async () => {
    const fake = new FakeClient([
      FakeClient.tunnel({ name: 'a', mode: 'gre' }, 11),
      FakeClient.tunnel({ name: 'b', mode: 'ipip' }, 12),
      FakeClient.tunnel({ name: 'c', mode: 'gre' }, 13),
      FakeClient.tunnel({ name: 'd', mode: 'sit' }, 14),
      FakeClient.tunnel({ name: 'e', mode: 'isatap' }, 15),
    ]);
    const names = async (mode: string) =>
      (await runTunnelCommand(['show', 'mode', mode], context(fake)))
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(':')[0]);
    assert.deepEqual(await names('gre'), ['a', 'c']);
    assert.deepEqual(await names('ipip'), ['b']);
    assert.deepEqual(await names('sit'), ['d', 'e']);
    assert.deepEqual(await names('vti'), []);
  });

  it('-s prints the counters in list mode', async () => {
    const tunnel = gre1();
    tunnel.stats.rxPackets = 3;
    tunnel.stats.txBytes = 252;
    const out = await runTunnelCommand(['show'], context(new FakeClient([tunnel]), { stats: 1 }));
    assert.equal(
      out,
      'gre1: gre/ip remote 192.168.2.20 local 192.168.1.10 ttl 64\n' +
        'RX: Packets    Bytes        Errors CsumErrs OutOfSeq Mcasts\n' +
        '    3          0            0      0        0        0       \n' +
        'TX: Packets    Bytes        Errors DeadLoop NoRoute  NoBufs\n' +
        '    0          252          0      0        0        0     \n',
    );
  });

  it('vti: add sends the VTI flag and the keys (the daemon applies vti_tunnel_ctl)', async () => {
    const ctx = context();
    await runTunnelCommand('add vti1 key 42 local 1.2.3.4 remote 5.6.7.8'.split(' '), ctx);
    const request = ctx.fake.requests[0];
    assert.ok(request?.op === 'tunnel.add');
    assert.deepEqual([request.params.mode, request.params.iflags, request.params.ikey, request.params.okey], ['vti', 0x2001, 42, 42]);
  });

  it('isatap: add sends the ISATAP flag', async () => {
    const ctx = context();
    await runTunnelCommand('add is0 mode isatap local 1.2.3.4'.split(' '), ctx);
    const request = ctx.fake.requests[0];
    assert.equal(request?.op, 'tunnel.add');
    assert.equal(request.op === 'tunnel.add' && request.params.mode, 'isatap');
    assert.equal(request.op === 'tunnel.add' && request.params.iflags, 1);
  });

  it('prl and 6rd: the request iproute2 would send as an ioctl; refusals as tnl_gen_ioctl prints them', async () => {
    const fake = new FakeClient([FakeClient.tunnel({ name: 'is0', mode: 'isatap' })]);
    const cases: Array<[string, unknown]> = [
      ['prl prl-default 1.2.3.4 dev is0', { op: 'tunnel.prl', name: 'is0', action: 'add', entry: { address: 0x01020304, isDefault: true } }],
      ['prl prl-nodefault 1.2.3.5 dev is0', { op: 'tunnel.prl', name: 'is0', action: 'add', entry: { address: 0x01020305, isDefault: false } }],
      ['p dev is0 prl-delete any', { op: 'tunnel.prl', name: 'is0', action: 'delete', address: 0 }],
      ['6 dev is0 6rd-reset', { op: 'tunnel.6rd', name: 'is0', reset: true }],
    ];
    for (const [args, request] of cases) {
      const ctx = context(fake);
      fake.requests.length = 0;
      assert.equal(await runTunnelCommand(args.split(' '), ctx), '', args);
      assert.deepEqual(fake.requests, [request], args);
    }
    const ctx = context(fake);
    fake.requests.length = 0;
    await runTunnelCommand('6rd dev is0 6rd-prefix 2001:db8::/32 6rd-relay_prefix 10.0.0.0/8'.split(' '), ctx);
    const r = fake.requests[0];
    assert.ok(r?.op === 'tunnel.6rd' && !r.reset);
    assert.deepEqual(Array.from(r.sixRd.prefix).slice(0, 5), [0x20, 0x01, 0x0d, 0xb8, 0]);
    assert.deepEqual([r.sixRd.prefixLength, r.sixRd.relayPrefix, r.sixRd.relayPrefixLength], [32, 0x0a000000, 8]);

    const refusals: Array<[string, string]> = [
      ['prl prl-default 1.2.3.4 dev sit1', 'sit1: ioctl 89f5 failed: No such device'],
      ['prl prl-delete 1.2.3.4 dev sit1', 'sit1: ioctl 89f6 failed: No such device'],
      ['6rd dev sit1 6rd-prefix 2001:db8::/32', 'sit1: ioctl 89f9 failed: No such device'],
      ['6rd dev sit1 6rd-reset', 'sit1: ioctl 89fa failed: No such device'],
      // No operation: ioctl 0, refused before any device is looked at.
      ['prl dev is0', 'is0: ioctl 0 failed: Inappropriate ioctl for device'],
      ['6rd dev sit1', 'sit1: ioctl 0 failed: Inappropriate ioctl for device'],
    ];
    for (const [args, message] of refusals) {
      const error = await failure(args.split(' '), context(fake));
      assert.equal(error.message, message, args);
      assert.equal(error.exitCode, 1);
    }
  });

  it('IPv6-outer modes and families are refused; other families as iproute2', async () => {
    for (const args of ['add x mode ip6gre', 'show mode any', 'add x ttl 300 mode ipip6']) {
      assert.equal((await failure(args.split(' '))).kind, 'unsupported');
    }
    assert.equal((await failure(['show'], context(new FakeClient(), { family: AF_INET6 }))).kind, 'unsupported');
    // Only the first `mode` counts in the pre-scan.
    assert.equal((await failure('add x mode gre mode ipip6'.split(' '))).message, 'Unknown tunnel mode "ipip6"');
    assert.equal(
      (await failure(['show'], context(new FakeClient(), { family: AF_PACKET }))).message,
      'Unsupported protocol family: 17',
    );
  });

  it('the daemon is reached lazily, and its absence is reported', async () => {
    const ctx = context();
    ctx.client = async () => {
      throw daemonUnreachable(new Error('nope'));
    };
    const error = await failure(['add', 'x', 'mode', 'gre'], ctx);
    assert.equal(error.message, 'Cannot talk to the burrow daemon: nope');
    assert.equal(error.exitCode, 1);
  });
});
