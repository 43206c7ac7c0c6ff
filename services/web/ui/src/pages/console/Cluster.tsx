import { useEffect, useRef, useState } from 'react';
import { api } from '../../api/client';
import type { LbEvent, LbStatus, ScalingDecision } from '@evshare/api/schemas';
import { DataTable } from '../../components/DataTable';
import { Empty, ProblemBox, Section } from '../../components/ui';
import { useI18n, type MessageKey } from '../../i18n';

const SAMPLE_MS = 2_000;
const SAMPLES = 90;

interface Sample {
  at: number;
  replicas: number;
  inflight: number;
  rps: number;
}

const healthKey = (h: string): MessageKey => (h === 'up' || h === 'down' || h === 'draining' ? `health.${h}` : 'health.down');
const SCALE_UP = '#d9822b';
const SCALE_DOWN = '#8a5cc2';

/**
 * The APP cluster behind the balancer: each instance's load, replicas and load over time (sampled
 * here) with the scaling decisions marked, and the balancer's and the autoscaler's decisions.
 */
export function ClusterPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const [status, setStatus] = useState<LbStatus>();
  const [decisions, setDecisions] = useState<ScalingDecision[]>();
  const [error, setError] = useState<unknown>();
  const [samples, setSamples] = useState<Sample[]>([]);
  const live = useRef(true);
  useEffect(() => {
    live.current = true;
    const sample = async () => {
      try {
        const [next, scaling] = await Promise.all([api.lbStatus(), api.clusterDecisions()]);
        if (!live.current) return;
        setStatus(next);
        setDecisions(scaling.items);
        setError(undefined);
        const rps = next.instances.reduce((sum, i) => sum + (i.reported?.rps ?? 0), 0);
        setSamples((list) => [...list.slice(-(SAMPLES - 1)), { at: Date.now(), replicas: next.totals.available, inflight: next.totals.inflight, rps }]);
      } catch (err) {
        if (live.current) setError(err);
      }
    };
    void sample();
    const timer = setInterval(() => void sample(), SAMPLE_MS);
    return () => {
      live.current = false;
      clearInterval(timer);
    };
  }, []);

  const maxReplicas = Math.max(1, ...samples.map((s) => s.replicas)) + 1;
  const maxRps = Math.max(1, ...samples.map((s) => s.rps));
  const W = 600;
  const H = 160;
  const x = (i: number) => (i / (SAMPLES - 1)) * W;
  // Decisions inside the sampled window (up to the latest sample, taken as the decisions were read),
  // placed by their time between the samples'.
  const first = samples[0];
  const last = samples.at(-1);
  const xAt = (at: number) => x(SAMPLES - samples.length + (at - first!.at) / SAMPLE_MS);
  const marks = first && last ? (decisions ?? []).filter((d) => Date.parse(d.at) >= first.at && Date.parse(d.at) <= last.at) : [];
  const line = (value: (s: Sample) => number, max: number) =>
    samples.map((s, i) => `${i ? 'L' : 'M'}${x(i + SAMPLES - samples.length).toFixed(1)} ${(H - (value(s) / max) * (H - 10)).toFixed(1)}`).join(' ');

  return (
    <div className="grid">
      <ProblemBox error={error} />
      {status && (
        <Section title={t('cluster.totals')} id="totals-title">
          <div className="stats">
            <div className="stat">
              <span className="stat-label">{t('cluster.instances')}</span>
              <span className="stat-value" data-testid="replicas">
                {i18n.number(status.totals.available)} / {i18n.number(status.totals.instances)}
              </span>
            </div>
            <div className="stat">
              <span className="stat-label">{t('cluster.inflight')}</span>
              <span className="stat-value">{i18n.number(status.totals.inflight)}</span>
            </div>
            <div className="stat">
              <span className="stat-label">{t('cluster.served')}</span>
              <span className="stat-value">{i18n.number(status.totals.served)}</span>
            </div>
            <div className="stat">
              <span className="stat-label">{t('cluster.queue')}</span>
              <span className="stat-value">{i18n.number(status.queue.length)}</span>
            </div>
          </div>
          <p className="muted">{t('cluster.algorithm', { factor: i18n.number(status.balancer.balanceFactor, 2) })}</p>
        </Section>
      )}
      <Section title={t('cluster.overTime')} id="chart-title">
        <svg className="chart" viewBox={`0 0 ${W} ${H + 20}`} role="img" aria-label={t('cluster.overTime')}>
          <rect width={W} height={H} fill="#f7faf9" />
          {Array.from({ length: maxReplicas + 1 }, (_, k) => (
            <line key={k} x1="0" x2={W} y1={H - (k / maxReplicas) * (H - 10)} y2={H - (k / maxReplicas) * (H - 10)} stroke="#e3ebe7" />
          ))}
          <path d={line((s) => s.rps, maxRps)} fill="none" stroke="#7aa7e0" strokeWidth="1.5" />
          <path d={line((s) => s.replicas, maxReplicas)} fill="none" stroke="#0a7d5a" strokeWidth="3" />
          {marks.map((d) => {
            const at = Math.min(W, xAt(Date.parse(d.at)));
            return (
              <line
                key={`${d.at}-${d.to}`}
                data-decision={`${d.from}-${d.to}`}
                x1={at}
                x2={at}
                y1="0"
                y2={H}
                stroke={d.to > d.from ? SCALE_UP : SCALE_DOWN}
                strokeWidth="2"
                strokeDasharray="4 3"
              >
                <title>{`${t(d.to > d.from ? 'cluster.scaleUp' : 'cluster.scaleDown')} ${d.from} → ${d.to} · ${i18n.time(d.at)}`}</title>
              </line>
            );
          })}
          <text x="4" y={H + 15} className="chart-label">
            {t('cluster.chartLegend', { seconds: (SAMPLES * SAMPLE_MS) / 1000 })}
          </text>
        </svg>
        <ul className="legend">
          <li>
            <span className="swatch" style={{ background: '#0a7d5a' }} aria-hidden="true" />
            {t('cluster.replicas')}
          </li>
          <li>
            <span className="swatch" style={{ background: '#7aa7e0' }} aria-hidden="true" />
            {t('cluster.rps')}
          </li>
          <li>
            <span className="swatch" style={{ background: SCALE_UP }} aria-hidden="true" />
            {t('cluster.decisionMark')}: {t('cluster.scaleUp')}
          </li>
          <li>
            <span className="swatch" style={{ background: SCALE_DOWN }} aria-hidden="true" />
            {t('cluster.decisionMark')}: {t('cluster.scaleDown')}
          </li>
        </ul>
      </Section>
      <Section title={t('cluster.decisions')} id="decisions-title">
        <DataTable<ScalingDecision>
          rows={decisions}
          empty={t('cluster.decisionsNone')}
          caption={t('cluster.decisions')}
          testId="scaling-decisions"
          rowKey={(d) => `${d.at}-${d.group ?? ''}-${d.to}`}
          columns={[
            { key: 'at', header: t('cluster.col.time'), render: (d) => i18n.dateTime(d.at) },
            { key: 'change', header: t('cluster.col.change'), render: (d) => t(d.to > d.from ? 'cluster.scaleUp' : 'cluster.scaleDown') },
            { key: 'replicas', header: t('cluster.col.replicas'), className: 'num', render: (d) => `${i18n.number(d.from)} → ${i18n.number(d.to)}` },
            { key: 'reason', header: t('cluster.col.reason'), data: true, render: (d) => d.reason },
            { key: 'message', header: t('cluster.col.detail'), data: true, render: (d) => (d.group ? `${d.group}: ${d.message}` : d.message) },
          ]}
        />
      </Section>
      <Section title={t('cluster.appInstances')} id="instances-title">
        {status && status.instances.length === 0 && <Empty>{t('cluster.none')}</Empty>}
        <ul className="instances">
          {(status?.instances ?? []).map((i) => {
            const load = i.maxConcurrency ? (i.inflight + i.foreignLoad) / i.maxConcurrency : 0;
            const elu = i.reported?.eventLoopUtilization ?? 0;
            return (
              <li key={i.id} className={`instance instance-${i.health}`} data-instance={i.id}>
                <div className="instance-head">
                  <strong translate="no">{i.id}</strong>
                  <span className={`tag tag-${i.health}`}>{t(healthKey(i.health))}</span>
                </div>
                <Bar label={t('cluster.concurrency', { n: i.inflight + i.foreignLoad, max: i.maxConcurrency })} value={load} />
                <Bar label={t('cluster.elu', { pct: i18n.percent(elu * 100) })} value={elu} />
                <dl className="facts small">
                  <dt>{t('cluster.rps')}</dt>
                  <dd>{i18n.number(i.reported?.rps ?? 0)}</dd>
                  <dt>{t('cluster.p95')}</dt>
                  <dd>{i.reported ? `${i18n.number(i.reported.p95LatencyMs, 1)} ms` : '—'}</dd>
                  <dt>{t('cluster.members')}</dt>
                  <dd>{i18n.number(i.reported?.activeMembers ?? 0)}</dd>
                  <dt>{t('cluster.ringShare')}</dt>
                  <dd>{i18n.percent(i.ringShare * 100)}</dd>
                  <dt>{t('cluster.served')}</dt>
                  <dd>{i18n.number(i.served)}</dd>
                </dl>
                <p className="muted small" translate="no">
                  {i.reason}
                </p>
              </li>
            );
          })}
        </ul>
      </Section>
      <Section title={t('cluster.events')} id="events-title">
        <DataTable<LbEvent>
          rows={status?.events}
          empty={t('cluster.eventsNone')}
          caption={t('cluster.events')}
          testId="balancer-events"
          rowKey={(e) => `${e.at}-${e.instance}-${e.event}-${e.reason}`}
          rowData={(e) => ({ 'data-event': e.event })}
          columns={[
            { key: 'at', header: t('cluster.col.time'), render: (e) => i18n.time(e.at) },
            { key: 'instance', header: t('cluster.col.instance'), data: true, render: (e) => e.instance },
            { key: 'event', header: t('cluster.col.event'), render: (e) => t(`cluster.event.${e.event}`) },
            { key: 'reason', header: t('cluster.col.reason'), data: true, render: (e) => e.reason },
          ]}
        />
      </Section>
      {status && (
        <Section title={t('cluster.upstreams')} id="upstreams-title">
          <ul className="plain">
            {Object.entries(status.upstreams).flatMap(([pool, members]) =>
              members.map((m) => (
                <li key={`${pool}-${m.id}`}>
                  <code translate="no">{pool}</code> <span translate="no">{m.url}</span> <span className={`tag tag-${m.health}`}>{t(healthKey(m.health))}</span>{' '}
                  · {t('cluster.servedN', { n: i18n.number(m.served) })}
                </li>
              )),
            )}
          </ul>
        </Section>
      )}
    </div>
  );
}

function Bar(props: { label: string; value: number }) {
  const pct = Math.max(0, Math.min(1, props.value)) * 100;
  const level = pct > 80 ? 'high' : pct > 50 ? 'mid' : 'low';
  return (
    <div className="load">
      <span className="load-label">{props.label}</span>
      <span className="load-bar" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)} aria-label={props.label}>
        <span className={`load-fill load-${level}`} style={{ width: `${pct}%` }} />
      </span>
    </div>
  );
}
