/**
 * `burrow daemon [run] | start | stop [--flush] | status`.
 *
 * run     runs the daemon of this network namespace in the foreground (for systemd, or to watch its log);
 * start   starts it in the background unless one runs (what every `burrow tunnel` command does anyway);
 * stop    stops it; its tunnels' devices and state stay, and the next daemon adopts them;
 *         with --flush it first deletes every tunnel (device included), and then its files;
 * status  prints the pid, version, number of tunnels and vxlan links, and the drops not charged to any of them.
 */
import fs from 'node:fs';
import { connectDaemon, currentDaemonPaths, daemonRunning } from '../control/client.js';
import { runDaemon } from './daemon.js';

const USAGE = 'Usage: burrow daemon [ run | start | stop [ --flush ] | status ]\n';

export async function runDaemonCommand(argv: string[]): Promise<number> {
  const [command = 'run', ...rest] = argv;
  switch (command) {
    case 'run':
      return runDaemon();
    case 'start':
      await connectDaemon({ autostart: true });
      return 0;
    case 'stop': {
      const flush = rest.includes('--flush');
      if (rest.some((a) => a !== '--flush')) {
        process.stderr.write(USAGE);
        return 255;
      }
      // A stopped daemon may have left tunnels behind; --flush starts one to adopt and delete them.
      const leftovers = flush && fs.existsSync(currentDaemonPaths().state);
      if (!leftovers && !(await daemonRunning())) return 0;
      const client = await connectDaemon({ autostart: leftovers });
      await client.request({ op: 'daemon.stop', flush });
      // The daemon answers first and stops right after: wait until its socket is gone.
      for (let i = 0; i < 500 && (await daemonRunning()); i++) await new Promise((r) => setTimeout(r, 10));
      return 0;
    }
    case 'status': {
      if (!(await daemonRunning())) {
        process.stdout.write('not running\n');
        return 3;
      }
      const client = await connectDaemon({ autostart: false });
      const status = await client.request({ op: 'daemon.status' });
      process.stdout.write(`running, pid ${status.pid}, version ${status.version}, since ${status.startedAt}\n`);
      process.stdout.write(`tunnels: ${status.tunnels}\n`);
      if (status.links !== undefined) process.stdout.write(`vxlan links: ${status.links}\n`);
      for (const [reason, count] of Object.entries(status.drops)) process.stdout.write(`drop ${reason}: ${count}\n`);
      return 0;
    }
    case 'help':
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(USAGE);
      return 255;
  }
}
