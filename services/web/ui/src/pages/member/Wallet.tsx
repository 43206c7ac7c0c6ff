import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { ledgerKindText } from '../../components/notes';
import { DataTable } from '../../components/DataTable';
import { Field, ProblemBox, Section, newKey, useAction, useFieldErrors, useLoad } from '../../components/ui';
import { useI18n } from '../../i18n';
import { useApp } from '../../state';

/** Yuan typed by the member → integer fen (NaN when not a amount with at most 2 decimals). */
export function yuanToFen(text: string): number {
  const trimmed = text.trim();
  if (!/^\d+(\.\d{1,2})?$/.test(trimmed)) return Number.NaN;
  const [whole, part = ''] = trimmed.split('.');
  return Number(whole) * 100 + Number(part.padEnd(2, '0'));
}

/** Balance, deposit and debt; top-up through the payment provider; the ledger (bills). */
export function WalletPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const app = useApp();
  const wallet = useLoad(() => api.wallet(), [app.version]);
  const ledger = useLoad(() => api.ledger(), [app.version]);
  const plan = useLoad(() => api.currentPlan(), []);
  const [amount, setAmount] = useState('100');
  const [provider, setProvider] = useState('dev');
  const [deposit, setDeposit] = useState('');
  const [message, setMessage] = useState('');
  const refunds = useLoad(() => api.depositRefunds(), [app.version]);
  const [refundProvider, setRefundProvider] = useState('dev');
  const topUp = useAction();
  const move = useAction();
  const refund = useAction();
  const topUpErrors = useFieldErrors(topUp.error);
  const moveErrors = useFieldErrors(move.error);

  const submitTopUp = async (event: FormEvent) => {
    event.preventDefault();
    setMessage('');
    const fen = yuanToFen(amount);
    const payment = await topUp.run(() => api.topUp(Number.isNaN(fen) ? -1 : fen, provider, newKey()));
    if (!payment) return;
    if (payment.status === 'pending' && payment.next) {
      window.location.assign(payment.next.url);
      return;
    }
    setMessage(payment.status === 'succeeded' ? t('wallet.topUpDone', { amount: i18n.money(payment.amountFen) }) : t('wallet.topUpFailed'));
    app.refresh();
    wallet.reload();
    ledger.reload();
  };
  const submitDeposit = async (event: FormEvent) => {
    event.preventDefault();
    const fen = yuanToFen(deposit);
    if (await move.run(() => api.moveToDeposit(Number.isNaN(fen) ? -1 : fen, newKey()))) {
      setDeposit('');
      app.refresh();
      wallet.reload();
      ledger.reload();
    }
  };
  const submitRefund = async (event: FormEvent) => {
    event.preventDefault();
    if (!window.confirm(t('wallet.refundConfirm'))) return;
    if (await refund.run(() => api.refundDeposit(refundProvider, newKey()))) {
      app.refresh();
      wallet.reload();
      ledger.reload();
      refunds.reload();
    }
  };
  const w = wallet.data;
  const needed = plan.data && w ? Math.max(0, plan.data.depositFen - w.depositFen) : 0;

  return (
    <div className="grid">
      <ProblemBox error={wallet.error} />
      <Section title={t('wallet.title')} id="wallet-title">
        <div className="stats">
          <div className="stat">
            <span className="stat-label">{t('wallet.balance')}</span>
            <span className="stat-value" data-testid="balance">
              {w ? i18n.money(w.balanceFen) : '—'}
            </span>
          </div>
          <div className="stat">
            <span className="stat-label">{t('wallet.deposit')}</span>
            <span className="stat-value" data-testid="deposit">
              {w ? i18n.money(w.depositFen) : '—'}
            </span>
          </div>
          <div className={`stat${w && w.debtFen > 0 ? ' stat-bad' : ''}`}>
            <span className="stat-label">{t('wallet.debt')}</span>
            <span className="stat-value">{w ? i18n.money(w.debtFen) : '—'}</span>
          </div>
        </div>
        {needed > 0 && <p className="alert alert-info">{t('wallet.depositNeeded', { amount: i18n.money(needed) })}</p>}
      </Section>
      <Section title={t('wallet.topUp')} id="topup-title">
        <form onSubmit={submitTopUp} className="form-row">
          <Field
            label={t('field.amountYuan')}
            name="amountFen"
            inputMode="decimal"
            value={amount}
            onChange={setAmount}
            error={topUpErrors.amountFen}
            required
          />
          <Field
            label={t('field.provider')}
            name="provider"
            value={provider}
            onChange={setProvider}
            options={[
              { value: 'dev', label: t('wallet.providerDev') },
              { value: 'hosted', label: t('wallet.providerHosted') },
            ]}
            error={topUpErrors.provider}
          />
          <button type="submit" className="primary" disabled={topUp.busy}>
            {t('wallet.topUpSubmit')}
          </button>
        </form>
        <ProblemBox error={topUp.error} />
        {message && (
          <p className="alert alert-ok" role="status">
            {message}
          </p>
        )}
      </Section>
      <Section title={t('wallet.moveToDeposit')} id="deposit-title">
        <form onSubmit={submitDeposit} className="form-row">
          <Field
            label={t('field.amountYuan')}
            name="depositAmount"
            inputMode="decimal"
            value={deposit}
            onChange={setDeposit}
            error={moveErrors.amountFen}
            required
          />
          <button type="submit" disabled={move.busy}>
            {t('wallet.moveSubmit')}
          </button>
        </form>
        <ProblemBox error={move.error} />
      </Section>
      <Section title={t('wallet.refundTitle')} id="refund-title">
        <p className="hint">{t('wallet.refundNote')}</p>
        <form onSubmit={submitRefund} className="form-row">
          <Field
            label={t('field.provider')}
            name="refundProvider"
            value={refundProvider}
            onChange={setRefundProvider}
            options={[
              { value: 'dev', label: t('wallet.providerDev') },
              { value: 'hosted', label: t('wallet.providerHosted') },
            ]}
          />
          <button type="submit" disabled={refund.busy || !w || w.depositFen <= 0}>
            {t('wallet.refundSubmit')}
          </button>
        </form>
        <ProblemBox error={refund.error} />
        <DataTable
          rows={refunds.data?.items}
          rowKey={(r) => r.id}
          empty={t('wallet.noRefunds')}
          caption={t('wallet.refundTitle')}
          testId="refunds"
          rowData={(r) => ({ 'data-status': r.status })}
          columns={[
            { key: 'time', header: t('col.time'), render: (r) => i18n.dateTime(r.createdAt) },
            { key: 'amount', header: t('col.amount'), className: 'num', render: (r) => i18n.money(r.amountFen) },
            { key: 'status', header: t('col.status'), render: (r) => t(`wallet.refund.${r.status}`) },
          ]}
        />
      </Section>
      <Section title={t('wallet.ledger')} id="ledger-title">
        <ProblemBox error={ledger.error} />
        <DataTable
          rows={ledger.data?.items}
          rowKey={(e) => e.id}
          empty={t('wallet.noEntries')}
          caption={t('wallet.ledger')}
          testId="ledger"
          rowData={(e) => ({ 'data-kind': e.kind })}
          columns={[
            { key: 'time', header: t('col.time'), render: (e) => i18n.dateTime(e.createdAt) },
            { key: 'kind', header: t('col.kind'), render: (e) => ledgerKindText(i18n, e.kind) },
            { key: 'amount', header: t('col.amount'), className: (e) => `num ${e.amountFen < 0 ? 'neg' : 'pos'}`, render: (e) => i18n.money(e.amountFen) },
            { key: 'balance', header: t('col.balanceAfter'), className: 'num', render: (e) => i18n.money(e.balanceAfterFen) },
          ]}
        />
      </Section>
    </div>
  );
}
