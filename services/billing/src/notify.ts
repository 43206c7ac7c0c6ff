import { SUBJECTS, type Bus, type PushNotification } from '@evshare/kit';

export function pushToMember(bus: Bus, memberId: string, notification: PushNotification): void {
  bus.publish(SUBJECTS.pushMember(memberId), notification);
}
