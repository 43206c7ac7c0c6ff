/**
 * One login session as kept in the login-state database (patent claim 5): who, from which
 * address, when last seen, and which APP instances have served the member.
 */
export interface SessionRecord {
  sessionHash: string;
  memberId: string;
  role: 'member' | 'admin';
  /** The client address as the balancer saw it (recorded, never used to authenticate). */
  address: string;
  createdAt: number;
  lastAccessAt: number;
  /** APP instance ids that have served this session, most recent last, bounded. */
  apps: string[];
}

export const MAX_APPS_REMEMBERED = 16;

/**
 * Decides whether an access must be written back: the sliding expiry and last-access time are
 * refreshed at most every `touchIntervalMs` (so the periodic poll does not write on every call),
 * and a new serving instance or address is recorded at once.
 */
export function touchSession(
  record: SessionRecord,
  access: { now: number; appId?: string; address?: string },
  touchIntervalMs: number,
): { record: SessionRecord; write: boolean } {
  const newApp = access.appId !== undefined && record.apps[record.apps.length - 1] !== access.appId;
  const newAddress = access.address !== undefined && access.address !== record.address;
  const stale = access.now - record.lastAccessAt >= touchIntervalMs;
  if (!newApp && !newAddress && !stale) return { record, write: false };
  let apps = record.apps;
  if (newApp) apps = [...record.apps.filter((id) => id !== access.appId), access.appId!].slice(-MAX_APPS_REMEMBERED);
  return {
    record: { ...record, apps, address: access.address ?? record.address, lastAccessAt: access.now },
    write: true,
  };
}

export function parseSessionRecord(raw: string | null): SessionRecord | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as SessionRecord;
    return typeof value.memberId === 'string' && typeof value.sessionHash === 'string' ? value : null;
  } catch {
    return null;
  }
}
