import type { Request } from 'express';
import { ensureSyncVersion, route, syncVersionKey, type Route, type SessionRecord } from '@evshare/kit';
import { membersOperations } from '@evshare/api';
import type { AppContext } from './context';
import type { MemberProfile } from './members';
import { unreadNotifications } from './notifications';
import { rentalSyncState } from './rental/model';
import { parseSyncEtag, syncEtag } from './sync';

export interface PollHooks {
  /** The APP's account check, run only when the poll answers in full (it then reads the profile anyway). */
  requireActive(session: SessionRecord, member?: MemberProfile): Promise<void>;
  seen(memberId: string): void;
}

/**
 * The periodic poll, the hot path: the session lookup and the claimed version's read go out
 * together, and an unchanged state answers 304 after that one round trip.
 */
export function pollRoute(ctx: AppContext, hooks: PollHooks): Route {
  const { config, db, cache, members } = ctx;
  return route(
    membersOperations.sync,
    async ({ session, prefetched: { claimed, claimedVersion } }, _req, res) => {
      hooks.seen(session.memberId);
      res.setHeader('Cache-Control', 'private, no-cache');
      if (claimed && claimed.memberId === session.memberId && claimedVersion === claimed.version) {
        res.setHeader('ETag', syncEtag(session.memberId, claimed.version));
        res.status(304).end();
        return;
      }
      const version = await ensureSyncVersion(cache, session.memberId);
      const [member, notifications, rental] = await Promise.all([
        members.profile(session.memberId),
        unreadNotifications(db, session.memberId),
        rentalSyncState(db, session.memberId),
      ]);
      await hooks.requireActive(session, member);
      res.setHeader('ETag', syncEtag(session.memberId, version));
      res.json({ version, member, notifications, ...rental, pollAfterMs: config.SYNC_INTERVAL_MS });
    },
    {
      skipCheck: true,
      prefetch: async (req: Request) => {
        const claimed = parseSyncEtag(req.headers['if-none-match']);
        return { claimed, claimedVersion: claimed ? await cache.get(syncVersionKey(claimed.memberId)) : undefined };
      },
    },
  );
}
