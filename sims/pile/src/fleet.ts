import { SimulatedPile, type PileSpec } from './pile';
import { seededRandom } from '@evshare/kit';

export interface FleetCredentials {
  id: string;
  password: string;
  vin?: string;
  idTag?: string;
}

export interface FleetOptions {
  /** Central system endpoint without the identity, e.g. ws://127.0.0.1:8080/ocpp */
  url: string;
  /** The piles' identities and passwords (from provisioning). */
  credentials: FleetCredentials[];
  /** How many of them to run (default: all). */
  count?: number;
  seed?: number;
  heartbeatIntervalMs?: number;
  meterIntervalMs?: number;
  speed?: number;
  /** Piles with a car and a card start charging on arrival. */
  autoStart?: boolean;
  /** Connections opened at once while starting. */
  connectConcurrency?: number;
  log?: (line: string) => void;
  /** Every call's round-trip time by action (the benchmark's measure). */
  onLatency?: (action: string, ms: number) => void;
}

export interface FleetStats {
  piles: number;
  connected: number;
  failed: number;
  calls: number;
  errors: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  charging: number;
  deliveredKwh: number;
  maxExcessW: number;
}

export interface PileFleet {
  piles: SimulatedPile[];
  stats(): FleetStats;
  /** Forgets the latencies measured so far (e.g. after the connection storm). */
  resetLatencies(): void;
  stop(): Promise<void>;
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

/**
 * N simulated charge points against a central system. Car and battery parameters come from the
 * seed, so a run is reproducible.
 */
export async function startPileFleet(options: FleetOptions): Promise<PileFleet> {
  const generator = seededRandom(options.seed ?? 1);
  const random = () => generator.next();
  const credentials = options.credentials.slice(0, options.count ?? options.credentials.length);
  const latencies: number[] = [];
  let errors = 0;
  let failed = 0;
  const log = options.log ?? (() => undefined);
  const piles = credentials.map((c) => {
    const spec: PileSpec = {
      id: c.id,
      password: c.password,
      ...(c.vin ? { vin: c.vin } : {}),
      ...(c.idTag ? { idTag: c.idTag } : {}),
      maxPowerW: 7000,
      carMaxPowerW: [6600, 7000, 11000][Math.floor(random() * 3)]!,
      batteryWh: [40_000, 60_000, 75_000][Math.floor(random() * 3)]!,
      socPct: Math.round(20 + random() * 60),
      phase: random(),
    };
    return new SimulatedPile(spec, {
      url: options.url,
      ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
      meterIntervalMs: options.meterIntervalMs ?? 60_000,
      speed: options.speed ?? 1,
      autoStart: options.autoStart ?? true,
      onLatency: (action, ms) => {
        latencies.push(ms);
        options.onLatency?.(action, ms);
      },
    });
  });

  const concurrency = options.connectConcurrency ?? 50;
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, piles.length) }, async () => {
      while (next < piles.length) {
        const pile = piles[next++]!;
        try {
          await pile.start();
        } catch (error) {
          failed++;
          errors++;
          log(`pile ${pile.spec.id}: ${(error as Error).message}`);
          await pile.stop();
        }
        if (++done % 250 === 0 || done === piles.length) log(`started ${done}/${piles.length} piles`);
      }
    }),
  );
  for (const pile of piles) pile.client.on('callError', () => errors++);

  return {
    piles,
    stats() {
      const sorted = [...latencies].sort((a, b) => a - b);
      const round = (ms: number) => Math.round(ms * 100) / 100;
      return {
        piles: piles.length,
        connected: piles.filter((p) => p.client.state === 1).length,
        failed,
        calls: latencies.length,
        errors,
        latencyMs: {
          p50: round(percentile(sorted, 50)),
          p95: round(percentile(sorted, 95)),
          p99: round(percentile(sorted, 99)),
          max: round(sorted[sorted.length - 1] ?? 0),
        },
        charging: piles.filter((p) => p.transaction).length,
        deliveredKwh: Math.round(piles.reduce((sum, p) => sum + p.meterWh, 0)) / 1000,
        maxExcessW: Math.max(0, ...piles.map((p) => p.maxExcessW)),
      };
    },
    resetLatencies() {
      latencies.length = 0;
    },
    async stop() {
      await Promise.all(piles.map((pile) => pile.stop()));
    },
  };
}
