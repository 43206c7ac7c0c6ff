import { hashPassword, problems, route, type Route } from '@evshare/kit';
import { membersOperations as ops } from '@evshare/api';
import type { AppContext } from './context';
import { markRead, notifyMember, unreadNotifications } from './notifications';
import { readSmsSettings, writeSmsPreferences } from './sms-preferences';

/** The member's own profile and notifications, and the operators' member accounts. */
export function memberRoutes(ctx: AppContext): Route[] {
  const { db, members, sessions } = ctx;
  return [
    route(ops.me, async ({ session }, _req, res) => {
      const member = await members.profile(session.memberId);
      if (!member) throw problems.notFound('No such member');
      res.json(member);
    }),
    route(ops.updateMe, async ({ session, body }, _req, res) => {
      res.json(await members.updateProfile(session.memberId, body));
    }),
    route(ops.smsPreferences, async ({ session }, _req, res) => {
      res.json(await readSmsSettings(db, session.memberId));
    }),
    route(ops.updateSmsPreferences, async ({ session, body }, _req, res) => {
      res.json(await writeSmsPreferences(db, session.memberId, body));
    }),
    route(ops.notifications, async ({ session }, _req, res) => {
      res.json({ items: await unreadNotifications(db, session.memberId) });
    }),
    route(ops.readNotification, async ({ session, params }, _req, res) => {
      // Another member's notification is indistinguishable from a missing one.
      if (!(await markRead(db, session.memberId, params.id))) throw problems.notFound('No such notification');
      await members.changed(session.memberId);
      res.status(204).end();
    }),
    route(ops.createMember, async ({ body }, _req, res) => {
      const member = await members.create({ ...body, passwordHash: await hashPassword(body.password) });
      res.status(201).location(`/api/v1/admin/members/${member.id}`).json(member);
    }),
    route(ops.member, async ({ params }, _req, res) => {
      const member = await members.profile(params.id);
      if (!member) throw problems.notFound('No such member');
      res.json(member);
    }),
    route(ops.memberSessions, async ({ params }, _req, res) => {
      const sessionsOfMember = await sessions.sessionsOf(params.id);
      res.json({ items: sessionsOfMember.map(({ sessionHash: _hash, ...rest }) => rest) });
    }),
    route(ops.notifyMember, async ({ params, body }, _req, res) => {
      if (!(await members.profile(params.id))) throw problems.notFound('No such member');
      res.status(201).json(await notifyMember(ctx, params.id, body));
    }),
  ];
}
