import { useState } from 'react';
import type { AdminDamageReport } from '@evshare/api/schemas';
import { api } from '../../api/client';
import { DataTable } from '../../components/DataTable';
import { Field, ProblemBox, Section, stateKey, useAction, useLoad } from '../../components/ui';
import { useI18n, type MessageKey } from '../../i18n';
import { ReportPhotos } from '../member/ReportDamage';

/**
 * Damage and cleanliness reports: the photos, the car out of service and back, a repair or
 * cleaning task opened and closed, and a charge to the responsible member (once per report).
 */
export function ReportsPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const [task, setTask] = useState('');
  const list = useLoad(() => api.adminReports(task || undefined), [task]);
  const [taskKinds, setTaskKinds] = useState<Record<string, 'repair' | 'cleaning'>>({});
  const [amounts, setAmounts] = useState<Record<string, string>>({});
  const [notes, setNotes] = useState<Record<string, string>>({});
  const action = useAction();
  const run = async (work: () => Promise<unknown>) => {
    if (await action.run(work)) list.reload();
  };
  const taskKindOf = (r: AdminDamageReport) => taskKinds[r.id] ?? (r.kind === 'dirt' ? 'cleaning' : 'repair');
  const amountFen = (id: string) => Math.round(Number(amounts[id] ?? '') * 100);

  return (
    <Section title={t('reports.title')} id="reports-title">
      <p className="muted">{t('reports.intro')}</p>
      <Field
        label={t('reports.task')}
        name="reportTask"
        value={task}
        onChange={setTask}
        options={[
          { value: '', label: t('rentals.all') },
          { value: 'none', label: t('reports.taskNone') },
          { value: 'open', label: t('taskState.open') },
          { value: 'done', label: t('taskState.done') },
        ]}
      />
      <ProblemBox error={list.error ?? action.error} />
      <DataTable
        rows={list.data?.items}
        rowKey={(r) => r.id}
        empty={t('reports.none')}
        caption={t('reports.title')}
        testId="reports"
        columns={[
          { key: 'time', header: t('col.time'), render: (r) => i18n.dateTime(r.createdAt) },
          {
            key: 'car',
            header: t('reports.car'),
            render: (r) => (
              <div>
                <span translate="no">{r.plate}</span> · {t(stateKey(r.vehicleState))}
                <div className="row">
                  {r.vehicleState === 'maintenance' ? (
                    <button type="button" onClick={() => void run(() => api.setVehicleState(r.vehicleId, 'available'))} disabled={action.busy}>
                      {t('reports.backInService')}
                    </button>
                  ) : (
                    <button type="button" onClick={() => void run(() => api.setVehicleState(r.vehicleId, 'maintenance'))} disabled={action.busy}>
                      {t('reports.outOfService')}
                    </button>
                  )}
                </div>
              </div>
            ),
          },
          {
            key: 'what',
            header: t('reports.what'),
            render: (r) => (
              <div>
                <strong>{t(`reportKind.${r.kind}` as MessageKey)}</strong> · {t(`reportPhase.${r.phase}` as MessageKey)}
                {r.location ? ` · ${t(`reportLocation.${r.location}` as MessageKey)}` : ''}
                <div>{r.note}</div>
              </div>
            ),
          },
          { key: 'photos', header: t('report.photos'), render: (r) => <ReportPhotos report={r} /> },
          {
            key: 'responsible',
            header: t('reports.responsible'),
            data: true,
            render: (r) => (r.responsibleMemberId ? <code>{r.responsibleMemberId.slice(0, 8)}</code> : t('reports.nobody')),
          },
          {
            key: 'task',
            header: t('reports.task'),
            render: (r) =>
              r.task?.state === 'open' ? (
                <div className="row">
                  {t(`taskKind.${r.task.kind}` as MessageKey)} · {t('taskState.open')}
                  <button type="button" onClick={() => void run(() => api.reportTask(r.id, { action: 'close' }))} disabled={action.busy}>
                    {t('reports.closeTask')}
                  </button>
                </div>
              ) : (
                <div className="row">
                  {r.task ? `${t(`taskKind.${r.task.kind}` as MessageKey)} · ${t('taskState.done')}` : ''}
                  <Field
                    label={t('reports.taskKind')}
                    name={`task-${r.id}`}
                    value={taskKindOf(r)}
                    onChange={(v) => setTaskKinds({ ...taskKinds, [r.id]: v === 'cleaning' ? 'cleaning' : 'repair' })}
                    options={[
                      { value: 'repair', label: t('taskKind.repair') },
                      { value: 'cleaning', label: t('taskKind.cleaning') },
                    ]}
                  />
                  <button type="button" onClick={() => void run(() => api.reportTask(r.id, { action: 'open', kind: taskKindOf(r) }))} disabled={action.busy}>
                    {t('reports.openTask')}
                  </button>
                </div>
              ),
          },
          {
            key: 'charge',
            header: t('reports.charge'),
            render: (r) =>
              r.charge ? (
                `${i18n.money(r.charge.amountFen)} · ${r.charge.note}`
              ) : (
                <div className="row">
                  <Field
                    label={t('reviews.amountYuan')}
                    name={`charge-${r.id}`}
                    inputMode="decimal"
                    value={amounts[r.id] ?? ''}
                    onChange={(v) => setAmounts({ ...amounts, [r.id]: v })}
                  />
                  <Field
                    label={t('reports.chargeNote')}
                    name={`charge-note-${r.id}`}
                    value={notes[r.id] ?? ''}
                    onChange={(v) => setNotes({ ...notes, [r.id]: v })}
                  />
                  <button
                    type="button"
                    className="primary"
                    onClick={() => void run(() => api.chargeReport(r.id, { amountFen: amountFen(r.id), note: notes[r.id] ?? '' }))}
                    disabled={action.busy || !r.responsibleMemberId || !(amountFen(r.id) > 0) || !(notes[r.id] ?? '').trim()}
                  >
                    {t('reports.chargeMember')}
                  </button>
                </div>
              ),
          },
        ]}
      />
    </Section>
  );
}
