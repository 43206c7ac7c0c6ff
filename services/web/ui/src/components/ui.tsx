import { useEffect, useId, useState, type ReactNode } from 'react';
import { ApiError } from '../api/client';
import { useI18n, type MessageKey } from '../i18n';
import { fieldLabelKey, isMessageKey, problemKey, reasonText, refusalKey } from './problems';

/** A labelled input; `error` comes from the API's invalid-params for this field. */
export function Field(props: {
  label: string;
  name: string;
  value: string;
  onChange(value: string): void;
  type?: string;
  error?: string;
  hint?: string;
  required?: boolean;
  autoComplete?: string;
  inputMode?: 'numeric' | 'decimal' | 'tel' | 'text';
  placeholder?: string;
  options?: Array<{ value: string; label: string }>;
}) {
  const id = useId();
  const common = {
    id,
    name: props.name,
    'aria-invalid': props.error ? true : undefined,
    'aria-describedby': props.error || props.hint ? `${id}-note` : undefined,
    required: props.required,
  };
  return (
    <div className={`field${props.error ? ' field-error' : ''}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.options ? (
        <select {...common} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
          {props.options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      ) : (
        <input
          {...common}
          type={props.type ?? 'text'}
          value={props.value}
          autoComplete={props.autoComplete}
          inputMode={props.inputMode}
          placeholder={props.placeholder}
          onChange={(e) => props.onChange(e.target.value)}
        />
      )}
      {(props.error || props.hint) && (
        <small id={`${id}-note`} className={props.error ? 'error-text' : 'hint'}>
          {props.error ?? props.hint}
        </small>
      )}
    </div>
  );
}

/** Field errors of an API problem, by the form's field name (`body.phone` → `phone`). */
export function useFieldErrors(error: unknown): Record<string, string> {
  const { t } = useI18n();
  const out: Record<string, string> = {};
  if (error instanceof ApiError) {
    for (const param of error.invalidParams) {
      const field = param.name.replace(/^(body|query|path|header)\./, '');
      out[field] = reasonText(t, param.reason);
    }
  }
  return out;
}

/** An API problem in the member's language, naming each wrong field. */
export function ProblemBox(props: { error: unknown }) {
  const { t } = useI18n();
  const error = props.error;
  if (!error) return null;
  if (!(error instanceof ApiError))
    return (
      <p className="alert alert-error" role="alert">
        {t('problem.unknown')}
      </p>
    );
  const key = problemKey(error);
  return (
    <div className="alert alert-error" role="alert">
      <strong>
        {t(key, {
          attempts: extraText(error.extra.attemptsLeft),
          state: t(stateKey(extraText(error.extra.state) || 'offline')),
          seconds: extraText(error.extra.retryAfter),
          socPct: extraText(error.extra.socPct),
          minSocPct: extraText(error.extra.minSocPct),
        })}
      </strong>
      {error.invalidParams.length > 0 && (
        <ul>
          {error.invalidParams.map((p) => (
            <li key={p.name}>
              {t(fieldLabelKey(p.name))}: {reasonText(t, p.reason)}
            </li>
          ))}
        </ul>
      )}
      {Array.isArray(error.extra.refusals) && (
        <ul>
          {(error.extra.refusals as Array<{ reason: string }>).map((r) => (
            <li key={r.reason}>{t(refusalKey(r.reason))}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A problem's extension member as text: the API sends numbers and words there, nothing else is shown. */
const extraText = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');

/** A car state's message (`vehicleState.<state>`), else offline's. */
export function stateKey(state: string): MessageKey {
  const key = `vehicleState.${state}`;
  return isMessageKey(key) ? key : 'vehicleState.offline';
}

/** Loads data, again whenever a dependency changes; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the caller passes the dependency list
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((n) => n + 1) };
}

/** Runs an action with busy and error state; resolves with its result or undefined. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await action();
    } catch (err) {
      setError(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(undefined) };
}

/** A charge level bar with the percentage. */
export function Charge(props: { pct: number }) {
  const i18n = useI18n();
  const { t } = i18n;
  const pct = Math.max(0, Math.min(100, props.pct));
  const level = pct < 20 ? 'low' : pct < 50 ? 'mid' : 'high';
  return (
    <span className="charge" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)} aria-label={t('vehicle.charge')}>
      <span className="charge-bar">
        <span className={`charge-fill charge-${level}`} style={{ width: `${pct}%` }} />
      </span>
      <span className="charge-text">{i18n.percent(pct)}</span>
    </span>
  );
}

/** The time (Unix ms), read when the component mounts and again every `intervalMs`. */
export function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** Time left until `until`, ticking every second. */
export function Countdown(props: { until: string }) {
  const { t } = useI18n();
  const now = useNow(1000);
  const left = Math.max(0, Date.parse(props.until) - now);
  const m = Math.floor(left / 60_000);
  const s = Math.floor((left % 60_000) / 1000);
  return (
    <span className="countdown" role="timer" aria-label={t('trip.holdLeft')}>
      {String(m).padStart(2, '0')}:{String(s).padStart(2, '0')}
    </span>
  );
}

export function Section(props: { title: string; children: ReactNode; actions?: ReactNode; id?: string; className?: string }) {
  return (
    <section className={props.className ? `card ${props.className}` : 'card'} aria-labelledby={props.id}>
      <header className="card-head">
        <h2 id={props.id}>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

export function Empty(props: { children: ReactNode }) {
  return <p className="empty">{props.children}</p>;
}

/** A fresh idempotency key for one intended payment or transfer. */
export function newKey(): string {
  return `web-${crypto.randomUUID()}`;
}
