import { spawn } from 'node:child_process';

const MARK = 'EVSHARE_STACK_GROUP';

/**
 * Ctrl-C in a terminal signals the whole foreground process group: without this, every child of
 * the stack (the embedded PostgreSQL, each service in the processes mode) would get SIGINT at the
 * same moment as the stack and stop in no particular order, PostgreSQL first. So the stack runs
 * as a child in a process group of its own, and this parent forwards the signal to it alone; the
 * stack then stops its parts in order. The parent exits with the stack's exit code.
 *
 * Returns true in the parent (which has nothing else to do) and false in the stack itself.
 */
export function relaunchInOwnProcessGroup(): boolean {
  if (process.env[MARK] === '1') {
    // The parent is gone (killed outright): stop as if told to, rather than linger.
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
    return false;
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [MARK]: '1' },
  });
  const forward = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return true;
}
