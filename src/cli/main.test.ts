import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BurrowError } from '../errors.js';
import { FakeClient } from './fake-client.js';
import { staticLinks } from './links.js';
import { runCli, type CliDeps } from './main.js';
import { AF_BRIDGE, AF_INET, AF_INET6, AF_MPLS, AF_PACKET, parseCommandLine } from './options.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  connects: number;
}

async function run(argv: string[], over: Partial<CliDeps> = {}, fake = new FakeClient()): Promise<Run> {
  const result: Run = { code: 0, stdout: '', stderr: '', connects: 0 };
  result.code = await runCli(argv, {
    connect: async () => {
      result.connects++;
      return fake;
    },
    links: staticLinks({ lo: 1, eth0: 2 }),
    stdout: (text) => (result.stdout += text),
    stderr: (text) => (result.stderr += text),
    daemonCommand: async () => 0,
    labCommand: async () => 0,
    ...over,
  });
  return result;
}

describe('global options (ip.c)', () => {
  const options = (...argv: string[]) => {
    const parsed = parseCommandLine(argv);
    assert.equal(parsed.kind, 'command');
    return parsed.kind === 'command' ? parsed : assert.fail();
  };

  it('prefixes resolve in ip.c order', () => {
    assert.equal(options('-s', '-stat', '-statistics', 'tunnel').options.stats, 3);
    assert.equal(options('-d', 'tunnel').options.details, 1);
    assert.equal(options('-j', 'tunnel').options.json, true);
    assert.equal(options('-p', 'tunnel').options.pretty, true);
    assert.equal(options('-o', 'tunnel').options.oneline, true);
    assert.equal(options('--json', 'tunnel').options.json, true);
    assert.equal(options('-4', 'tunnel').options.family, AF_INET);
    assert.equal(options('-6', 'tunnel').options.family, AF_INET6);
    assert.equal(options('-0', 'tunnel').options.family, AF_PACKET);
    assert.equal(options('-M', 'tunnel').options.family, AF_MPLS);
    assert.equal(options('-B', 'tunnel').options.family, AF_BRIDGE);
    assert.equal(options('-f', 'inet6', 'tunnel').options.family, AF_INET6);
    assert.equal(options('-family', 'link', 'tunnel').options.family, AF_PACKET);
    // -h is -human-readable (accepted), not -help.
    assert.deepEqual(options('-h', 'tunnel', 'show').args, ['tunnel', 'show']);
    assert.deepEqual(options('-l', '5', '-rc', '9', '-c', '-color=never', '-t', '-ts', '-br', '-i', '-N', '-a', '-echo', '-r', 'tunnel').args, ['tunnel']);
    assert.deepEqual(options('--', '-s', 'tunnel').args, ['-s', 'tunnel']);
    assert.deepEqual(parseCommandLine(['-V', 'junk']), { kind: 'version' });
  });
});

describe('burrow main', () => {
  it('unknown option, object, and the usages', async () => {
    assert.deepEqual(await run(['-x']), { code: 255, stdout: '', stderr: 'Option "-x" is unknown, try "burrow -help".\n', connects: 0 });
    assert.equal((await run(['-jp', 'tunnel'])).stderr, 'Option "-jp" is unknown, try "burrow -help".\n');
    assert.equal((await run(['-color=foo'])).stderr, 'Option "-color=foo" is unknown, try "burrow -help".\n');
    assert.equal((await run(['-e'])).code, 255);
    const frob = await run(['frob']);
    assert.deepEqual([frob.code, frob.stderr], [1, 'Object "frob" is unknown, try "burrow help".\n']);
    assert.equal((await run(['tuntap'])).stderr, 'Object "tuntap" is unknown, try "burrow help".\n');
    for (const argv of [[], ['help'], ['h'], ['-help'], ['-he'], ['-f'], ['-f', 'help'], ['-h'], ['-l'], ['-rc']]) {
      const r = await run(argv);
      assert.equal(r.code, 255, argv.join(' '));
      assert.match(r.stderr, /^Usage: burrow \[ OPTIONS \] OBJECT/);
    }
    const family = await run(['-f', 'foo', 'tunnel']);
    assert.deepEqual([family.code, family.stderr], [255, 'Error: argument "foo" is wrong: invalid protocol family\n']);
    assert.equal((await run(['-rc', 'abc', 'tunnel'])).stderr, "Invalid rcvbuf size 'abc'\n");
  });

  it('-V prints the version on stdout', async () => {
    const r = await run(['-V', 'tunnel', 'junk']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^burrow utility, burrow-\S+\n$/);
  });

  it('tunnel, tunl and their prefixes; silent on success', async () => {
    const fake = new FakeClient();
    for (const object of ['tunnel', 'tunl', 't', 'tun']) {
      const r = await run([object, 'add', `${object}x`, 'mode', 'gre'], {}, fake);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    }
    const shown = await run(['-o', 'tunnel'], {}, fake);
    assert.equal(shown.stdout.split('\n').length, 5);
    const json = await run(['-j', 't', 'show', 'tx'], {}, fake);
    assert.deepEqual(JSON.parse(json.stdout).map((t: { ifname: string }) => t.ifname), ['tx']);
  });

  it('tunnel help and its errors go to stderr with their exit status', async () => {
    const help = await run(['tunnel', 'help']);
    assert.equal(help.code, 255);
    assert.match(help.stderr, /^Usage: burrow tunnel \{ add \| change \| del \| show \| prl \| 6rd \} \[ NAME \]\n/);
    const ttl = await run(['tunnel', 'add', 'x', 'mode', 'gre', 'ttl', '256']);
    assert.deepEqual(ttl, { code: 255, stdout: '', stderr: 'Error: argument "256" is wrong: invalid TTL\n\n', connects: 0 });
  });

  it('link and fdb are objects; daemon and lab are dispatched with their arguments', async () => {
    const link = await run(['link', 'add', 'vx0', 'type', 'vxlan']);
    assert.equal(link.code, 2);
    assert.equal(link.stderr, 'Error: Required attributes not provided to perform the operation.\n');
    const fdb = await run(['f', 'frob']);
    assert.equal(fdb.stderr, 'Command "frob" is unknown, try "burrow fdb help".\n');
    const seen: string[][] = [];
    const r = await run(['d', 'run', '--foreground'], {
      daemonCommand: async (argv) => {
        seen.push(argv);
        return 3;
      },
    });
    assert.equal(r.code, 3);
    await run(['lab', 'demo'], { labCommand: async (argv) => void seen.push(argv) });
    assert.deepEqual(seen, [['run', '--foreground'], ['demo']]);
  });

  it('an unreachable daemon is reported once the command is valid', async () => {
    const r = await run(['tunnel', 'add', 'x', 'mode', 'gre'], {
      connect: async () => {
        throw new BurrowError('ECONNREFUSED');
      },
    });
    assert.deepEqual([r.code, r.stderr], [1, 'Cannot talk to the burrow daemon: Connection refused\n']);
  });

  it('a BurrowError from daemon or lab, and a bug', async () => {
    const e = await run(['daemon', 'stop'], {
      daemonCommand: async () => {
        throw new BurrowError('EPERM', 'not root');
      },
    });
    assert.deepEqual([e.code, e.stderr], [1, 'burrow: Operation not permitted: not root\n']);
    const bug = await run(['lab'], {
      labCommand: async () => {
        throw new TypeError('oops');
      },
    });
    assert.equal(bug.code, 1);
    assert.match(bug.stderr, /^burrow: internal error \(a bug\):\nTypeError: oops\n {4}at /);
  });
});
