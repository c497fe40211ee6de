/**
 * Runs the burrow command line as user nobody: loads every module first (as root, so a checkout that
 * only root can read still works), then drops to uid/gid 65534 and runs `burrow ARGS...`.
 * Used by the test that a user other than root cannot reach the daemon.
 */
import '../../src/control/client.js';
import { main } from '../../src/cli/main.js';

process.setgroups?.([]);
process.setgid!(65534);
process.setuid!(65534);
await main(process.argv.slice(2));
