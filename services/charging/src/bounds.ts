/**
 * What a pile's word about a charging session is worth (issue 11). A pile reports its meter and
 * its clock; the platform only bills what it can bound by its own observations: the pile's rated
 * power and the time that passed on the server's clock between the StartTransaction and the
 * StopTransaction it received. Anything else is held for an operator's review.
 */
export type SessionAnomaly = 'energy-above-rating' | 'meter-backwards' | 'clock-skew';

export interface SessionLimits {
  /** A pile's timestamp further than this from the server's clock when received is replaced. */
  clockToleranceMs: number;
  /** Billed energy may exceed rated power × elapsed server time by this factor (meter accuracy). */
  energyMargin: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { clockToleranceMs: 5 * 60_000, energyMargin: 1.1 };

/** A pile's timestamp, or the server's when they are further apart than the tolerance. */
export function clampTime(reportedMs: number, receivedMs: number, toleranceMs: number): { ms: number; skewed: boolean } {
  if (!Number.isFinite(reportedMs) || Math.abs(reportedMs - receivedMs) > toleranceMs) return { ms: receivedMs, skewed: true };
  return { ms: reportedMs, skewed: false };
}

/** The most energy a pile rated `ratedW` can deliver in `elapsedMs`, with the margin. */
export const energyBoundWh = (ratedW: number, elapsedMs: number, margin: number): number => Math.floor((ratedW * Math.max(0, elapsedMs) * margin) / 3_600_000);

export interface SessionReport {
  ratedW: number;
  meterStartWh: number;
  meterStopWh: number;
  /** Energy register readings the pile sent for the transaction, in the order received. */
  samplesWh: number[];
  /** When the server received the start and the stop. */
  startReceivedMs: number;
  stopReceivedMs: number;
  /** The pile's start time as stored (already clamped at the start), and its stop time as sent. */
  startMs: number;
  startSkewed: boolean;
  reportedStopMs: number;
}

export interface SessionAssessment {
  energyWh: number;
  /** The energy the bound allows, for the review. */
  boundWh: number;
  startMs: number;
  stopMs: number;
  anomalies: SessionAnomaly[];
}

/** Pure: the session's energy and times to price, and why it must not be billed as reported. */
export function assessSession(report: SessionReport, limits: SessionLimits): SessionAssessment {
  const anomalies = new Set<SessionAnomaly>();
  const stop = clampTime(report.reportedStopMs, report.stopReceivedMs, limits.clockToleranceMs);
  if (stop.skewed || report.startSkewed) anomalies.add('clock-skew');
  const stopMs = Math.max(stop.ms, report.startMs);
  let previous = report.meterStartWh;
  for (const reading of [...report.samplesWh, report.meterStopWh]) {
    if (reading < previous) anomalies.add('meter-backwards');
    previous = Math.max(previous, reading);
  }
  const energyWh = Math.max(0, report.meterStopWh - report.meterStartWh);
  const boundWh = energyBoundWh(report.ratedW, report.stopReceivedMs - report.startReceivedMs, limits.energyMargin);
  if (energyWh > boundWh) anomalies.add('energy-above-rating');
  return { energyWh, boundWh, startMs: report.startMs, stopMs, anomalies: [...anomalies] };
}
