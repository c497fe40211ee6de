/**
 * The fuzz budget shared by the property files: a fixed seed and FUZZ_RUNS runs per property in CI
 * (seconds), more with `npm run fuzz` (scripts/fuzz), and a count of the inputs tried that each file
 * prints when it ends (`fuzz NAME: N inputs tried, seed S, R runs per property`); scripts/fuzz adds
 * the counts up.
 *
 * A failure prints fast-check's seed, path and shrunk counterexample; the shrunk bytes belong in a
 * regression test (test/fuzz/regressions.test.ts, or beside the code that was wrong).
 */
import { after } from 'node:test';
import fc from 'fast-check';

export const SEED = Number(process.env.FUZZ_SEED ?? 0x62757272) | 0; // "burr"

export interface CheckOptions<T> extends Partial<fc.Parameters<T>> {
  /** Runs are not inputs: the property counts what it tries itself with `add` (a run is a batch). */
  countsItself?: boolean;
}

export interface Budget {
  /** fc.assert under the budget; each run counts as one input tried unless `countsItself`. */
  check<T>(property: fc.IProperty<T>, options?: CheckOptions<T>): void;
  checkAsync<T>(property: fc.IAsyncProperty<T>, options?: CheckOptions<T>): Promise<void>;
  add(inputs: number): void;
  readonly tried: number;
}

/**
 * A budget for one fuzz file: FUZZ_RUNS runs per property, or `defaultRuns` (what CI runs); its count
 * is printed when the file's tests have run.
 */
export function budget(name: string, defaultRuns = 150): Budget {
  const runs = Number(process.env.FUZZ_RUNS ?? defaultRuns) || defaultRuns;
  const BASE = { seed: SEED, numRuns: runs, includeErrorInReport: true };
  let tried = 0;
  after(() => console.log(`fuzz ${name}: ${tried} inputs tried, seed ${SEED}, ${runs} runs per property`));
  const settle = (details: fc.RunDetails<unknown>, countsItself: boolean | undefined): void => {
    if (!countsItself) tried += details.numRuns;
    if (details.failed) throw new Error(fc.defaultReportMessage(details));
  };
  return {
    check(property, { countsItself, ...options } = {}) {
      settle(fc.check(property, { ...BASE, ...options }) as fc.RunDetails<unknown>, countsItself);
    },
    async checkAsync(property, { countsItself, ...options } = {}) {
      settle((await fc.check(property, { ...BASE, ...options })) as fc.RunDetails<unknown>, countsItself);
    },
    add(inputs) {
      tried += inputs;
    },
    get tried() {
      return tried;
    },
  };
}
