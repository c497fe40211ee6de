/**
 * Global options, read as ip.c reads them: before the object word, each cut to any prefix in ip.c's
 * order (so `-s` is -stats, `-h` is -human-readable, `-he` is -help, `-b` is -batch, `-br` -brief),
 * `--opt` the same as `-opt`, and `--` ending the options.
 *
 * Options that only change other objects' output (-human, -iec, -brief, -timestamp, ...) are accepted
 * and have no effect on tunnels, as in iproute2. `-batch FILE` (with `-force`) runs the commands of a
 * file (batch.ts); `-netns`, which burrow cannot honour, is refused.
 */
import { matches } from './argv.js';
import { getUnsigned } from './inet.js';
import {
  MAIN_USAGE,
  PROGRAM,
  invalidArgument,
  invalidRcvbuf,
  notImplemented,
  unknownOption,
  usage,
} from './usage-errors.js';

/** Address families as Linux numbers them (what `Unsupported protocol family: N` prints). */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;
export const AF_PACKET = 17;
export const AF_MPLS = 28;

export interface GlobalOptions {
  /** `-4`, `-6`, `-0`, `-M`, `-B`, `-f FAMILY`; AF_UNSPEC when none. */
  family: number;
  /** How many times -s was given. */
  stats: number;
  details: number;
  json: boolean;
  pretty: boolean;
  oneline: boolean;
  /** -r: accepted; burrow prints addresses numerically all the same. */
  resolve: boolean;
}

export function defaultOptions(): GlobalOptions {
  return { family: AF_UNSPEC, stats: 0, details: 0, json: false, pretty: false, oneline: false, resolve: false };
}

export type ParsedCommandLine =
  | { kind: 'command'; options: GlobalOptions; args: string[] }
  /** `-batch FILE`: what follows the options is ignored, as ip.c ignores it. */
  | { kind: 'batch'; options: GlobalOptions; file: string; force: boolean }
  | { kind: 'version' };

/** lib/utils.c `read_family()`. */
function readFamily(name: string): number {
  switch (name) {
    case 'inet':
      return AF_INET;
    case 'inet6':
      return AF_INET6;
    case 'link':
      return AF_PACKET;
    case 'mpls':
      return AF_MPLS;
    case 'bridge':
      return AF_BRIDGE;
    default:
      return AF_UNSPEC;
  }
}

/** lib/color.c `matches_color()`: -c[olor][=always|auto|never]. */
function isColorOption(option: string): boolean {
  const eq = option.indexOf('=');
  const head = eq < 0 ? option : option.slice(0, eq);
  const value = eq < 0 ? '' : option.slice(eq + 1);
  return matches(head, '-color') && (value === '' || value === 'always' || value === 'auto' || value === 'never');
}

/** Reads the global options; `args` is what follows them (the object word first). */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const options = defaultOptions();
  let batch: string | null = null;
  let force = false;
  let i = 0;
  // Options that take a value: the value, or the main usage when it is missing.
  const value = (): string => {
    i += 1;
    if (i >= argv.length) throw usage(MAIN_USAGE);
    return argv[i]!;
  };
  for (; i < argv.length; i++) {
    let opt = argv[i]!;
    if (opt === '--') {
      i++;
      break;
    }
    if (opt[0] !== '-') break;
    if (opt[1] === '-') opt = opt.slice(1);
    if (matches(opt, '-loops')) {
      value();
    } else if (matches(opt, '-family')) {
      const name = value();
      if (name === 'help') throw usage(MAIN_USAGE);
      options.family = readFamily(name);
      if (options.family === AF_UNSPEC) throw invalidArgument('invalid protocol family', name);
    } else if (opt === '-4') {
      options.family = AF_INET;
    } else if (opt === '-6') {
      options.family = AF_INET6;
    } else if (opt === '-0') {
      options.family = AF_PACKET;
    } else if (opt === '-M') {
      options.family = AF_MPLS;
    } else if (opt === '-B') {
      options.family = AF_BRIDGE;
    } else if (matches(opt, '-human') || matches(opt, '-human-readable')) {
      // no effect on tunnels
    } else if (matches(opt, '-iec')) {
      // no effect on tunnels
    } else if (matches(opt, '-stats') || matches(opt, '-statistics')) {
      options.stats++;
    } else if (matches(opt, '-details')) {
      options.details++;
    } else if (matches(opt, '-resolve')) {
      options.resolve = true;
    } else if (matches(opt, '-oneline')) {
      options.oneline = true;
    } else if (matches(opt, '-timestamp') || matches(opt, '-tshort')) {
      // no effect on tunnels
    } else if (matches(opt, '-Version')) {
      return { kind: 'version' };
    } else if (matches(opt, '-force')) {
      force = true;
    } else if (matches(opt, '-batch')) {
      batch = value();
    } else if (matches(opt, '-brief')) {
      // no effect on tunnels
    } else if (matches(opt, '-json')) {
      options.json = true;
    } else if (matches(opt, '-pretty')) {
      options.pretty = true;
    } else if (matches(opt, '-rcvbuf')) {
      const size = value();
      if (getUnsigned(size, 0) === undefined) throw invalidRcvbuf(size);
    } else if (isColorOption(opt)) {
      // burrow never colours its output
    } else if (matches(opt, '-help')) {
      throw usage(MAIN_USAGE);
    } else if (matches(opt, '-netns')) {
      throw notImplemented(`-netns is not supported; run "ip netns exec NAME ${PROGRAM} ..." instead`);
    } else if (matches(opt, '-Numeric') || matches(opt, '-all') || opt === '-echo') {
      // no effect on tunnels
    } else {
      throw unknownOption(opt);
    }
  }
  if (batch !== null) return { kind: 'batch', options, file: batch, force };
  return { kind: 'command', options, args: argv.slice(i) };
}
