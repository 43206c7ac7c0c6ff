import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { MemberSummary as AdminMember } from '@evshare/api/schemas';
import { ledgerKindText } from '../../components/notes';
import { Empty, Field, ProblemBox, Section, useAction, useLoad } from '../../components/ui';
import { useI18n } from '../../i18n';
import { licenceKey } from '../member/Account';

/** Licence approvals, member search, suspension and each member's ledger and debt. */
export function MembersPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const pending = useLoad(() => api.adminMembers({ licence: 'pending' }), []);
  const debtors = useLoad(async () => (await api.adminMembers({ status: 'active' })).items.filter((m) => m.debtFen > 0), []);
  const [query, setQuery] = useState('');
  const [search, setSearch] = useState('');
  const found = useLoad(async () => (search ? api.adminMembers({ q: search }) : undefined), [search]);
  const [selected, setSelected] = useState<AdminMember>();
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const [suspendReason, setSuspendReason] = useState('');
  const action = useAction();
  const ledger = useLoad(async () => (selected ? api.memberLedger(selected.id) : undefined), [selected?.id]);
  const refunds = useLoad(() => api.adminDepositRefunds(), []);

  const decide = async (m: AdminMember, decision: 'approve' | 'reject') => {
    if (await action.run(() => api.decideLicence(m.id, decision, decision === 'reject' ? reasons[m.id] || undefined : undefined))) pending.reload();
  };
  const refreshSelected = async (id: string) => {
    const { items } = await api.adminMembers({ q: selected?.phone ?? selected?.username ?? '' });
    setSelected(items.find((m) => m.id === id));
    found.reload();
  };
  const suspend = async () => {
    if (selected && (await action.run(() => api.suspend(selected.id, suspendReason.trim())))) await refreshSelected(selected.id);
  };
  const reactivate = async () => {
    if (selected && (await action.run(() => api.reactivate(selected.id)))) await refreshSelected(selected.id);
  };
  const submitSearch = (event: FormEvent) => {
    event.preventDefault();
    setSearch(query.trim());
  };

  return (
    <div className="grid">
      <ProblemBox error={action.error} />
      <Section title={t('members.pending')} id="pending-title">
        <ProblemBox error={pending.error} />
        {pending.data && pending.data.items.length === 0 && <Empty>{t('members.noPending')}</Empty>}
        <ul className="plain">
          {(pending.data?.items ?? []).map((m) => (
            <li key={m.id} className="licence-row" data-member={m.phone ?? m.username ?? m.id}>
              <div>
                <strong translate="no">{m.displayName}</strong> <span translate="no">{m.phone ?? m.username}</span>
                <div className="muted">
                  <span translate="no">{m.licenceNumber}</span> · {t('account.expires', { date: i18n.date(m.licenceExpiresOn) })} ·{' '}
                  {t('members.submitted', { at: i18n.dateTime(m.licenceSubmittedAt) })}
                </div>
              </div>
              <div className="row">
                <button type="button" className="primary" onClick={() => void decide(m, 'approve')} disabled={action.busy}>
                  {t('members.approve')}
                </button>
                <Field label={t('field.reason')} name={`reason-${m.id}`} value={reasons[m.id] ?? ''} onChange={(v) => setReasons({ ...reasons, [m.id]: v })} />
                <button type="button" onClick={() => void decide(m, 'reject')} disabled={action.busy}>
                  {t('members.reject')}
                </button>
              </div>
            </li>
          ))}
        </ul>
      </Section>
      <Section title={t('members.search')} id="search-title">
        <form onSubmit={submitSearch} className="form-row">
          <Field label={t('field.q')} name="q" value={query} onChange={setQuery} hint={t('members.searchHint')} />
          <button type="submit">{t('members.searchSubmit')}</button>
        </form>
        <ProblemBox error={found.error} />
        {found.data && found.data.items.length === 0 && <Empty>{t('members.noneFound')}</Empty>}
        <ul className="plain">
          {(found.data?.items ?? []).map((m) => (
            <li key={m.id}>
              <button type="button" className="link-button" onClick={() => setSelected(m)}>
                <span translate="no">
                  {m.displayName} · {m.phone ?? m.username}
                </span>
              </button>{' '}
              <span className="tag">
                {t(`memberStatus.${m.status === 'suspended' ? 'suspended' : m.status === 'deregistered' ? 'deregistered' : 'active'}`)}
              </span>
            </li>
          ))}
        </ul>
      </Section>
      {selected && (
        <Section
          title={t('members.detail')}
          id="detail-title"
          actions={
            <span translate="no" className="card-sub">
              {selected.displayName}
            </span>
          }
        >
          <dl className="facts">
            <dt>{t('col.status')}</dt>
            <dd>{t(`memberStatus.${selected.status === 'suspended' ? 'suspended' : selected.status === 'deregistered' ? 'deregistered' : 'active'}`)}</dd>
            <dt>{t('account.licence')}</dt>
            <dd>{t(licenceKey(selected.licenceStatus))}</dd>
            <dt>{t('wallet.balance')}</dt>
            <dd>{i18n.money(selected.balanceFen)}</dd>
            <dt>{t('wallet.deposit')}</dt>
            <dd>{i18n.money(selected.depositFen)}</dd>
            <dt>{t('wallet.debt')}</dt>
            <dd>{i18n.money(selected.debtFen)}</dd>
          </dl>
          {selected.status === 'active' && selected.role === 'member' && (
            <div className="form-row">
              <Field label={t('field.reason')} name="suspendReason" value={suspendReason} onChange={setSuspendReason} />
              <button type="button" className="danger" onClick={() => void suspend()} disabled={action.busy || !suspendReason.trim()}>
                {t('members.suspend')}
              </button>
            </div>
          )}
          {selected.status === 'suspended' && (
            <button type="button" onClick={() => void reactivate()} disabled={action.busy}>
              {t('members.reactivate')}
            </button>
          )}
          <h3>{t('wallet.ledger')}</h3>
          {ledger.data && ledger.data.items.length === 0 && <Empty>{t('wallet.noEntries')}</Empty>}
          <ul className="plain">
            {(ledger.data?.items ?? []).map((e) => (
              <li key={e.id}>
                {i18n.dateTime(e.createdAt)} · {ledgerKindText(i18n, e.kind)} ·{' '}
                <span className={e.amountFen < 0 ? 'neg' : 'pos'}>{i18n.money(e.amountFen)}</span>
              </li>
            ))}
          </ul>
        </Section>
      )}
      <Section title={t('members.debts')} id="debts-title">
        {debtors.data && debtors.data.length === 0 && <Empty>{t('members.noDebts')}</Empty>}
        <ul className="plain">
          {(debtors.data ?? []).map((m) => (
            <li key={m.id}>
              <span translate="no">
                {m.displayName} · {m.phone ?? m.username}
              </span>{' '}
              <strong className="neg">{i18n.money(m.debtFen)}</strong>
            </li>
          ))}
        </ul>
      </Section>
      <Section title={t('members.refunds')} id="refunds-title">
        <ProblemBox error={refunds.error} />
        {refunds.data && refunds.data.items.length === 0 && <Empty>{t('wallet.noRefunds')}</Empty>}
        <ul className="plain" data-testid="deposit-refunds">
          {(refunds.data?.items ?? []).map((r) => (
            <li key={r.id} data-status={r.status}>
              {i18n.dateTime(r.createdAt)} · <span translate="no">{r.memberId}</span> · {i18n.money(r.amountFen)} · {t(`wallet.refund.${r.status}`)}
              {r.failure && <span translate="no"> ({r.failure})</span>}
            </li>
          ))}
        </ul>
      </Section>
    </div>
  );
}
