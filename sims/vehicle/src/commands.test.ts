import { CommandLedger, REMEMBERED_COMMANDS } from './commands';

const ID = '00000000-0000-4000-8000-000000000001';
const now = Date.parse('2026-01-01T00:00:00Z');

describe('CommandLedger', () => {
  it.each([
    ['a fresh command is executed', '2026-01-01T00:00:10Z', { kind: 'execute' }],
    ['an expired command is refused', '2025-12-31T23:59:59Z', { kind: 'stale', ack: { commandId: ID, ok: false, reason: 'expired' } }],
    ['a command expiring right now is refused', '2026-01-01T00:00:00Z', { kind: 'stale', ack: { commandId: ID, ok: false, reason: 'expired' } }],
  ])('%s', (_name, expiresAt, decision) => {
    expect(new CommandLedger().decide({ commandId: ID, expiresAt }, now)).toEqual(decision);
  });

  it('an executed command id is not executed again; its ack is repeated, even after expiry', () => {
    const ledger = new CommandLedger();
    ledger.record({ commandId: ID, ok: true });
    expect(ledger.decide({ commandId: ID, expiresAt: '2026-01-01T00:00:10Z' }, now)).toEqual({ kind: 'repeat', ack: { commandId: ID, ok: true } });
    expect(ledger.decide({ commandId: ID, expiresAt: '2025-01-01T00:00:00Z' }, now).kind).toBe('repeat');
  });

  it('forgets the oldest ids beyond its memory', () => {
    const ledger = new CommandLedger();
    const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    for (let n = 0; n <= REMEMBERED_COMMANDS; n++) ledger.record({ commandId: id(n), ok: true });
    expect(ledger.decide({ commandId: id(0), expiresAt: '2026-01-01T00:00:10Z' }, now).kind).toBe('execute');
    expect(ledger.decide({ commandId: id(REMEMBERED_COMMANDS), expiresAt: '2026-01-01T00:00:10Z' }, now).kind).toBe('repeat');
  });
});
