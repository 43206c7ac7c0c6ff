import { APP_KEY_MAX_VALIDITY_S } from '@evshare/kit';
import { keyWindow, type KeyHold } from './app-keys';

const settings = { APP_KEY_WALK_UP_SECONDS: 600, APP_KEY_RENTAL_SECONDS: 4 * 3600 };
const now = new Date('2026-12-03T10:00:00.400Z');
const notBefore = new Date('2026-12-03T09:59:00.000Z');

describe('keyWindow', () => {
  it.each<[string, KeyHold, typeof settings, number]>([
    ['a walk-up: the walk to the car, from a minute back', { kind: 'walk-up' }, settings, 60 + 600 + 1],
    ['a rental: APP_KEY_RENTAL_SECONDS', { kind: 'rental' }, settings, 60 + 4 * 3600 + 1],
    ['a reservation: until the hold runs out', { kind: 'reservation', expiresAt: new Date('2026-12-03T10:15:00.000Z') }, settings, 16 * 60],
    ['a reservation about to run out: at least a second', { kind: 'reservation', expiresAt: new Date('2026-12-03T09:58:00.000Z') }, settings, 1],
    ['never longer than a terminal accepts', { kind: 'rental' }, { ...settings, APP_KEY_RENTAL_SECONDS: APP_KEY_MAX_VALIDITY_S }, APP_KEY_MAX_VALIDITY_S],
  ])('%s', (_name, hold, given, validitySeconds) => {
    expect(keyWindow(hold, now, given)).toEqual({ notBefore, validitySeconds });
  });
});
