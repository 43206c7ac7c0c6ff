import { z } from 'zod';

/**
 * The developer panel's rules (dev-panel.ts is the adapter): when it is mounted, which requests
 * it answers, and the shape of what it is sent. Pure.
 */

/** DEV_PANEL: `auto` mounts it in development when the stack runs its simulators. */
export const DEV_PANEL_SETTINGS = ['auto', 'on', 'off'] as const;
export type DevPanelSetting = (typeof DEV_PANEL_SETTINGS)[number];

export class DevPanelRefused extends Error {}

/**
 * Whether the stack mounts the panel. It drives the simulated cars, so without them there is
 * nothing to mount; it holds any member's card to a car, so outside development it is never
 * mounted, and asking for it there (DEV_PANEL=on) stops the start instead of being ignored.
 */
export function devPanelMounted(options: { setting: DevPanelSetting; nodeEnv: string | undefined; simulators: boolean }): boolean {
  const development = options.nodeEnv === 'development' || options.nodeEnv === 'test';
  if (!development) {
    if (options.setting === 'on')
      throw new DevPanelRefused(`DEV_PANEL=on is refused with NODE_ENV=${options.nodeEnv ?? '(unset)'}: the panel is for development only`);
    return false;
  }
  if (options.setting === 'off') return false;
  if (!options.simulators) {
    if (options.setting === 'on') throw new DevPanelRefused('DEV_PANEL=on needs the simulated cars (SIMULATORS and VEHICLE_LINK on)');
    return false;
  }
  return true;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Why a request to the panel is refused, or undefined. Only this machine's browser, addressed to
 * the loopback name (a page whose DNS name was rebound to 127.0.0.1 names another host), and no
 * other page's scripts: a changing request must come from the panel's own page or from no page.
 */
export function panelRequestRefusal(
  method: string,
  headers: { host?: string | undefined; origin?: string | undefined; 'sec-fetch-site'?: string | undefined },
): string | undefined {
  const host = headers.host ?? '';
  const name = host.replace(/:\d{1,5}$/, '');
  if (!LOOPBACK_HOSTS.has(name)) return `The panel answers only on the loopback address, not ${host.slice(0, 100) || 'a request without Host'}`;
  if (method === 'GET' || method === 'HEAD') return undefined;
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `A ${site.slice(0, 40)} request may not drive the cars`;
  if (headers.origin !== undefined && headers.origin !== `http://${host}`) return `The page at ${headers.origin.slice(0, 100)} may not drive the cars`;
  return undefined;
}

/** ISO 3779 VIN, as the platform stores it. */
export const vinParams = z
  .object({ vin: z.string().regex(/^[A-HJ-NPR-Z0-9]{17}$/, 'must be a 17-character VIN (digits and capitals except I, O, Q)') })
  .strict();

/** A membership card's UID as a reader reads it: 4, 7 or 10 bytes in hex. */
export const cardBody = z
  .object({
    cardUid: z
      .string()
      .regex(/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20})$/, 'must be a card UID of 4, 7 or 10 bytes in hex (8, 14 or 20 hex digits)')
      .transform((uid) => uid.toUpperCase()),
  })
  .strict();

export const signalBody = z.object({ online: z.boolean() }).strict();

/** Where to, and how fast: a plausible town speed by default, never faster than a car goes. */
export const driveBody = z
  .object({
    stationId: z.uuid('must be a station id (a UUID)'),
    speedKmh: z.number().int().min(5).max(150).default(50),
  })
  .strict();
