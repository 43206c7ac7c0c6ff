/**
 * The terminal's command bookkeeping (pure): a command id is executed at most once (a repeat gets
 * the same acknowledgement again, so a lost ack is repaired by the platform's resend), and a
 * command past its expiry is refused.
 */
export interface Ack {
  commandId: string;
  ok: boolean;
  reason?: string;
  whitelistVersion?: number;
  fleetVersion?: number;
}

export type Decision = { kind: 'execute' } | { kind: 'repeat'; ack: Ack } | { kind: 'stale'; ack: Ack };

/** How many executed command ids the terminal remembers. */
export const REMEMBERED_COMMANDS = 1_000;

export class CommandLedger {
  private readonly executed = new Map<string, Ack>();

  decide(command: { commandId: string; expiresAt: string }, now: number): Decision {
    const done = this.executed.get(command.commandId);
    if (done) return { kind: 'repeat', ack: done };
    if (Date.parse(command.expiresAt) <= now) return { kind: 'stale', ack: { commandId: command.commandId, ok: false, reason: 'expired' } };
    return { kind: 'execute' };
  }

  record(ack: Ack): void {
    this.executed.set(ack.commandId, ack);
    if (this.executed.size > REMEMBERED_COMMANDS) this.executed.delete(this.executed.keys().next().value!);
  }
}
