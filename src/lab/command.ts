/**
 * `burrow lab ...`: cli/main.ts hands everything after `lab` to runLabCommand and exits with the
 * status it returns.
 *
 *   burrow lab demo [ --mode { ipip | gre | all } ] [ --keep ]
 *   burrow lab up classic       build the classic topology and leave it (namespaces bwlab-classic-*)
 *   burrow lab down classic     remove it (stopping any burrow daemon inside first)
 *   burrow lab help
 *
 * Exit status: 0 success; 1 a failed check or operation; 255 bad arguments (iproute2's exit(-1)).
 */
import { Lab, labUnavailableReason, listNamespaces } from './netns.js';
import { describeTopology } from './topology.js';
import { CLASSIC_PREFIX, DEMO_MODES, runDemo, type DemoMode } from './demo.js';
import { B_UNDERLAY, NODE, buildClassic } from './scenarios/classic.js';

export const LAB_USAGE = [
  'Usage: burrow lab demo [ --mode { ipip | gre | all } ] [ --keep ]',
  '       burrow lab up classic',
  '       burrow lab down classic',
  '       burrow lab help',
].join('\n');

export type LabCommand =
  | { cmd: 'demo'; modes: DemoMode[]; keep: boolean }
  | { cmd: 'up' | 'down'; topology: 'classic' }
  | { cmd: 'help' }
  | { cmd: 'usage'; message: string };

/** Pure: argv after `lab` to a command, or a usage problem. */
export function parseLabArgs(argv: readonly string[]): LabCommand {
  const [verb, ...rest] = argv;
  switch (verb) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return rest.length === 0 ? { cmd: 'help' } : { cmd: 'usage', message: `unexpected "${rest[0]}"` };
    case 'demo':
      return parseDemo(rest);
    case 'up':
    case 'down': {
      if (rest.length === 0) return { cmd: 'usage', message: `"${verb}" needs a topology: classic` };
      if (rest[0] !== 'classic') return { cmd: 'usage', message: `unknown topology "${rest[0]}" (known: classic)` };
      if (rest.length > 1) return { cmd: 'usage', message: `unexpected "${rest[1]}"` };
      return { cmd: verb, topology: 'classic' };
    }
    default:
      return { cmd: 'usage', message: `unknown command "${verb}"` };
  }
}

function parseDemo(args: readonly string[]): LabCommand {
  let modes: DemoMode[] | undefined;
  let keep = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    let value: string | undefined;
    if (arg === '--keep') {
      if (keep) return { cmd: 'usage', message: 'duplicate "--keep"' };
      keep = true;
      continue;
    } else if (arg === '--mode') {
      value = args[++i];
      if (value === undefined) return { cmd: 'usage', message: '"--mode" needs a value: ipip, gre or all' };
    } else if (arg.startsWith('--mode=')) {
      value = arg.slice('--mode='.length);
    } else {
      return { cmd: 'usage', message: `unknown option "${arg}"` };
    }
    if (modes !== undefined) return { cmd: 'usage', message: 'duplicate "--mode"' };
    if (value === 'all') modes = [...DEMO_MODES];
    else if ((DEMO_MODES as readonly string[]).includes(value)) modes = [value as DemoMode];
    else return { cmd: 'usage', message: `unknown mode "${value}" (ipip, gre or all)` };
  }
  return { cmd: 'demo', modes: modes ?? [...DEMO_MODES], keep };
}

export interface LabCommandIo {
  /** Standard output and error, a line at a time. Default: the process's. */
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Namespace prefix for `up`, `down` and `demo --keep` (tests); default bwlab-classic. */
  prefix?: string;
  /** The burrow executable used inside the namespaces; default <repo>/bin/burrow. */
  burrow?: string;
}

/** Runs `burrow lab <argv...>`; returns the exit status. */
export async function runLabCommand(argv: string[], io: LabCommandIo = {}): Promise<number> {
  const out = io.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = io.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const command = parseLabArgs(argv);
  switch (command.cmd) {
    case 'help':
      out(LAB_USAGE);
      return 0;
    case 'usage':
      err(`burrow lab: ${command.message}`);
      err(LAB_USAGE);
      return 255;
    case 'demo':
      return runDemo({
        modes: command.modes,
        keep: command.keep,
        out,
        burrow: io.burrow,
        prefix: command.keep ? io.prefix ?? CLASSIC_PREFIX : undefined,
      });
    case 'up':
    case 'down': {
      const unavailable = labUnavailableReason();
      if (unavailable) {
        err(`burrow lab: ${unavailable}`);
        return 1;
      }
      const prefix = io.prefix ?? CLASSIC_PREFIX;
      return command.cmd === 'up' ? up(prefix, io.burrow, out, err) : down(prefix, io.burrow, out, err);
    }
  }
}

async function up(prefix: string, burrow: string | undefined, out: (l: string) => void, err: (l: string) => void): Promise<number> {
  const existing = await listNamespaces(prefix);
  if (existing.length > 0) {
    err(`burrow lab: the classic lab is up already (${existing.join(' ')}); remove it with: burrow lab down classic`);
    return 1;
  }
  // Until it is built, the lab's hooks remove it on failure or Ctrl-C; then it is left for the user.
  const lab = new Lab({ prefix, burrow, log: err });
  try {
    const built = await buildClassic(lab);
    lab.detach();
    out('the classic lab is up:');
    for (const l of describeTopology(built.spec, built.ns)) out(`  ${l}`);
    out('explore it with, for example:');
    out(`  ip netns exec ${built.ns[NODE.A]} bash`);
    out(`  ip netns exec ${built.ns[NODE.A]} ping -c 1 ${B_UNDERLAY}`);
    out('remove it with: burrow lab down classic');
    return 0;
  } catch (e) {
    err(`burrow lab: could not build the classic topology: ${(e as Error).message}`);
    lab.destroy();
    return 1;
  }
}

async function down(prefix: string, burrow: string | undefined, out: (l: string) => void, err: (l: string) => void): Promise<number> {
  const lab = await Lab.adopt(prefix, { burrow, log: err });
  if (lab.namespaces.length === 0) {
    lab.destroy();
    out('the classic lab is not up: nothing to remove');
    return 0;
  }
  const report = lab.destroy();
  out(`removed ${report.namespaces.join(' ')}`);
  return report.errors.length === 0 && report.strays.length === 0 ? 0 : 1;
}
