import { z } from 'zod';

/**
 * Notifications for one member's open push connections (the heartbeat instances hold them), and
 * each heartbeat instance's count of members online:
 *
 *   push.member.<memberId>   PushNotification
 *   heartbeat.online         OnlineReport
 */
export const pushSubjects = {
  member: (memberId: string) => `push.member.${memberId}`,
  memberAll: 'push.member.*',
  online: 'heartbeat.online',
} as const;

export const pushNotificationSchema = z.object({
  id: z.string(),
  kind: z.string(),
  title: z.string().optional(),
  body: z.unknown().optional(),
  at: z.string(),
});
export type PushNotification = z.infer<typeof pushNotificationSchema>;

export const onlineReportSchema = z.object({
  instance: z.string(),
  members: z.number().int().nonnegative(),
  connections: z.number().int().nonnegative(),
  at: z.string(),
});
export type OnlineReport = z.infer<typeof onlineReportSchema>;
