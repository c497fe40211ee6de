/**
 * Re-records test/conformance/tunnel-cases.json: `ip`'s outcome for every case, and burrow's for the
 * documented differences. Run after adding cases (`args` + `expect` are enough) and review the diff:
 *
 *   npx tsc -p . && node dist/test/conformance/record-cases.js
 */
import { cleanUp, ipAvailability, readCases, runBurrow, runIp, writeCases } from './harness.js';

const availability = ipAvailability();
if (!availability.ip) {
  process.stderr.write('record-cases: needs iproute2 (`ip`)\n');
  process.exit(1);
}
const file = readCases();
file.iproute2 = availability.version;
await Promise.all(
  file.cases.map(async (c) => {
    c.ip = await runIp(c.args, availability.netns);
    if (c.expect === 'differs') c.burrow = await runBurrow(c.args);
    else delete c.burrow;
  }),
);
cleanUp();
writeCases(file);
process.stdout.write(`recorded ${file.cases.length} cases against ${availability.version}\n`);
