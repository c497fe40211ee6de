/**
 * burrow's entry point: global options, the object word, and the one place that prints and exits.
 *
 * Shaped like ip/ip.c: options first (options.ts), then the object matched by prefix in table order
 * (`t` and `tunl` are tunnel, `l` is link, `x` xfrm, `d` daemon, `la` lab, `h` help). Commands return their
 * stdout text or throw; here a UsageError becomes its message on stderr and its exit status, and
 * anything else is a bug (its stack, exit 1). A successful command prints nothing unless it shows.
 *
 * Environment: BURROW_AUTOSTART=0 makes the command line use a running daemon only, never start one
 * (the conformance tests run burrow so, with BURROW_RUN_DIR pointing at an empty directory).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TunnelClient } from '../control/client.js';
import { BurrowError, isErrnoName, STRERROR } from '../errors.js';
import { batchEntries } from './batch.js';
import { matches } from './argv.js';
import { DsfieldTable } from './dsfield.js';
import { sysfsLinks, type LinkTable } from './links.js';
import { parseCommandLine, type GlobalOptions } from './options.js';
import { ProtocolTable } from './protocols.js';
import { runTunnelCommand } from './tunnel.js';
import { runLinkCommand } from './link-vxlan.js';
import { runFdbCommand, systemServices } from './fdb.js';
import { runXfrmCommand } from './xfrm.js';
import {
  EXIT_USAGE,
  MAIN_USAGE,
  PROGRAM,
  UsageError,
  daemonUnreachable,
  unknownObject,
  usage,
} from './usage-errors.js';

/** What the command line needs from the outside world; tests replace any of it. */
export interface CliDeps {
  /** Connects to (and by default starts) the daemon of this network namespace. */
  connect(): Promise<TunnelClient>;
  links: LinkTable;
  dsfield(): DsfieldTable;
  /** IP protocol names (/etc/protocols), for xfrm selectors. */
  protocols(): ProtocolTable;
  stdout(text: string): void;
  stderr(text: string): void;
  /** `burrow daemon ...` and `burrow lab ...`, owned by src/daemon and src/lab. */
  daemonCommand(argv: string[]): Promise<number | void>;
  labCommand(argv: string[]): Promise<number | void>;
}

async function connectDefault(): Promise<TunnelClient> {
  const { connectDaemon } = await import('../control/client.js');
  return connectDaemon({ autostart: process.env.BURROW_AUTOSTART !== '0' });
}

export function defaultDeps(): CliDeps {
  return {
    connect: connectDefault,
    links: sysfsLinks(),
    dsfield: () => DsfieldTable.system(),
    protocols: () => ProtocolTable.system(),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    daemonCommand: async (argv) => (await import('../daemon/command.js')).runDaemonCommand(argv),
    labCommand: async (argv) => (await import('../lab/command.js')).runLabCommand(argv),
  };
}

function version(): string {
  try {
    const here = path.dirname(fileURLToPath(import.meta.url));
    // dist/src/cli -> package root
    const pkg = JSON.parse(fs.readFileSync(path.join(here, '..', '..', '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** How a command reaches the daemon: one connection, made on the first request (shared by a batch). */
type ClientOf = () => Promise<TunnelClient>;

/** An object's handler: stdout text, or an exit status (daemon and lab print for themselves). */
type ObjectHandler = (args: string[], deps: CliDeps, options: GlobalOptions, client: ClientOf) => Promise<string | number>;

/** The objects, in ip.c's table order where they overlap with it, so prefixes resolve alike. */
const OBJECTS: ReadonlyArray<readonly [string, ObjectHandler]> = [
  ['link', linkObject],
  ['tunnel', tunnelObject],
  ['tunl', tunnelObject],
  ['xfrm', xfrmObject],
  ['daemon', async (args, deps) => (await deps.daemonCommand(args)) ?? 0],
  ['lab', async (args, deps) => (await deps.labCommand(args)) ?? 0],
  // `bridge fdb`'s object, for the vxlan devices' forwarding databases.
  ['fdb', fdbObject],
  [
    'help',
    async () => {
      throw usage(MAIN_USAGE);
    },
  ],
];

/** One connection per command (or batch), made on the first request. */
function lazyClient(deps: CliDeps): ClientOf {
  let client: Promise<TunnelClient> | undefined;
  return () =>
    (client ??= deps.connect().catch((error: unknown) => {
      // Only root may talk to the daemon: for others a request fails as the kernel's ioctl would.
      if (error instanceof BurrowError && error.code === 'EPERM') throw error;
      throw daemonUnreachable(error);
    }));
}

async function tunnelObject(args: string[], deps: CliDeps, options: GlobalOptions, client: ClientOf): Promise<string> {
  return runTunnelCommand(args, { options, links: deps.links, dsfield: deps.dsfield(), client });
}

async function linkObject(args: string[], deps: CliDeps, options: GlobalOptions, client: ClientOf): Promise<string> {
  return runLinkCommand(args, {
    options,
    links: deps.links,
    dsfield: deps.dsfield(),
    client,
    warn: (text) => deps.stderr(text),
  });
}

async function xfrmObject(args: string[], deps: CliDeps, options: GlobalOptions, client: ClientOf): Promise<string> {
  return runXfrmCommand(args, { options, links: deps.links, protocols: deps.protocols(), client });
}

async function fdbObject(args: string[], deps: CliDeps, options: GlobalOptions, client: ClientOf): Promise<string> {
  return runFdbCommand(args, { options, links: deps.links, client, services: systemServices });
}

/** Runs one command line (without the program name); returns the exit status. */
export async function runCli(argv: readonly string[], overrides: Partial<CliDeps> = {}): Promise<number> {
  const deps: CliDeps = { ...defaultDeps(), ...overrides };
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    return report(error, deps).status;
  }
  if (parsed.kind === 'version') {
    deps.stdout(`${PROGRAM} utility, ${PROGRAM}-${version()}\n`);
    return 0;
  }
  if (parsed.kind === 'batch') return runBatch(parsed.file, parsed.force, parsed.options, deps);
  return (await runCommand(parsed.args, parsed.options, deps, lazyClient(deps))).status;
}

/**
 * One command (object and its arguments). `ends`: iproute2 would have left with exit() here, which
 * also ends a batch (see batch.ts).
 */
async function runCommand(
  args: readonly string[],
  options: GlobalOptions,
  deps: CliDeps,
  client: ClientOf,
): Promise<{ status: number; ends: boolean }> {
  try {
    const [object, ...rest] = args;
    if (object === undefined) throw usage(MAIN_USAGE);
    const entry = OBJECTS.find(([name]) => matches(object, name));
    if (entry === undefined) throw unknownObject(object);
    const result = await entry[1](rest, deps, options, client);
    if (typeof result === 'number') return { status: result, ends: false };
    if (result !== '') deps.stdout(result);
    return { status: 0, ends: false };
  } catch (error) {
    return report(error, deps);
  }
}

/** Prints a command's error; its exit status, and whether it ends a batch. */
function report(error: unknown, deps: CliDeps): { status: number; ends: boolean } {
  if (error instanceof UsageError) {
    deps.stderr(error.message + '\n');
    return { status: error.exitCode, ends: endsBatch(error) };
  }
  if (error instanceof BurrowError) {
    // Errors of the daemon and lab commands, which print no iproute2 text of their own.
    deps.stderr(`${PROGRAM}: ${error.message}\n`);
    return { status: 1, ends: false };
  }
  deps.stderr(`${PROGRAM}: internal error (a bug):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return { status: 1, ends: true };
}

/**
 * Whether iproute2 leaves with exit() for this error rather than returning failure from the command:
 * every exit(-1) (status 255: usage, invarg, duparg, an incomplete line, unknown commands and modes)
 * and get_addr's exit(1) for an address that does not parse. Such an error ends a batch, -force or not.
 */
function endsBatch(error: UsageError): boolean {
  return error.exitCode === EXIT_USAGE || error.kind === 'address';
}

/** `-batch FILE` (`-` for standard input), as `ip -batch` runs one (batch.ts). */
async function runBatch(file: string, force: boolean, options: GlobalOptions, deps: CliDeps): Promise<number> {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    // fopen(3) opens a directory; reading it then fails, which ends the batch without a command.
    if (code === 'EISDIR') return 0;
    const reason = isErrnoName(code) ? STRERROR[code] : (error as Error).message;
    deps.stderr(`Cannot open file "${file}" for reading: ${reason}\n`);
    return 1;
  }
  const client = lazyClient(deps);
  let status = 0;
  for (const entry of batchEntries(text)) {
    if (entry.kind === 'end') {
      deps.stderr(entry.message + '\n');
      break;
    }
    if (entry.kind === 'fatal') {
      deps.stderr(entry.message + '\n');
      return 1;
    }
    const outcome = await runCommand(entry.args, options, deps, client);
    if (outcome.ends) return outcome.status;
    if (outcome.status !== 0) {
      deps.stderr(`Command failed ${file}:${entry.line}\n`);
      status = 1;
      if (!force) break;
    }
  }
  return status;
}

/** Entry for `node dist/src/cli/main.js ...` and bin/burrow. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // A reader that goes away (`burrow tunnel show | head -1`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.exitCode = await runCli(argv);
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return fs.realpathSync(script) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) await main();
