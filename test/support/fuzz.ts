import fc from 'fast-check';

/**
 * One place for how the adversarial (generative) suites run: seeded, shrunk, the seed and the
 * number of cases printed. In `make test` each property runs a bounded number of cases; `make fuzz`
 * sets FUZZ_SECONDS and every property then runs until that time is spent.
 *
 *   FUZZ_SEED=123 npx jest test/adversarial   # replay a run
 *   FUZZ_RUNS=500                              # cases per property (default below)
 *   FUZZ_SECONDS=600                           # soak: run each property for this long
 */
export interface FuzzSettings {
  seed: number;
  numRuns: number;
  /** Milliseconds per property in soak mode, undefined otherwise. */
  timeLimitMs?: number;
}

export function fuzzSettings(defaultRuns: number): FuzzSettings {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
  const seconds = process.env.FUZZ_SECONDS ? Number(process.env.FUZZ_SECONDS) : undefined;
  if (seconds !== undefined && seconds > 0) return { seed, numRuns: Number.MAX_SAFE_INTEGER, timeLimitMs: seconds * 1000 };
  return { seed, numRuns: process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : defaultRuns };
}

/**
 * A jest timeout for a test that runs `properties` properties: the bounded run's own budget, plus
 * FUZZ_SECONDS for each property in a soak.
 */
export function fuzzTimeout(boundedMs: number, properties = 1): number {
  const seconds = Number(process.env.FUZZ_SECONDS) || 0;
  return boundedMs + properties * seconds * 1000;
}

/** Cases tried per property in this jest worker (a suite may print its own total; `make fuzz` sums the `fuzz:` lines). */
export const casesTried = new Map<string, number>();

/**
 * Runs an async property; on failure throws fast-check's report (seed, path, shrunk counterexample)
 * so the case can be replayed with FUZZ_SEED. Returns the number of cases tried.
 */
export async function checkProperty<Ts extends [unknown, ...unknown[]]>(
  name: string,
  defaultRuns: number,
  ...args: [...arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...values: Ts) => Promise<boolean | void>]
): Promise<number> {
  const settings = fuzzSettings(defaultRuns);
  const property = fc.asyncProperty(...(args as Parameters<typeof fc.asyncProperty<Ts>>));
  const details = await fc.check(property, {
    seed: settings.seed,
    numRuns: settings.numRuns,
    // The report names what went wrong, not only the counterexample.
    includeErrorInReport: true,
    ...(settings.timeLimitMs ? { interruptAfterTimeLimit: settings.timeLimitMs, markInterruptAsFailure: false } : {}),
  });
  const tried = details.numRuns;
  casesTried.set(name, (casesTried.get(name) ?? 0) + tried);
  process.stdout.write(`fuzz: ${name}: ${tried} cases, seed ${settings.seed}${details.failed ? ' FAILED' : ''}\n`);
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? `${name} failed (seed ${settings.seed})`);
  return tried;
}
