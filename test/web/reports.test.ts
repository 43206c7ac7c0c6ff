import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DICTIONARIES } from '../../services/web/ui/src/i18n/messages';
import { eventually } from '../support/http';
import { startRentalBench, type RentalBench } from '../rental/support';
import { launchBrowser, openPage, screenshots } from './browser';

const zh = DICTIONARIES.zh;
const UI_TIMEOUT = 15_000;
/** A real 1×1 PNG, so the browser can draw the thumbnail. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/**
 * Damage reports in real Chromium against the platform: the renting member reports damage with a
 * photo from the trip page; the operator sees the photo on the console, takes the car out of
 * service, opens a repair task and charges the member, by clicking only.
 */
describe('damage reports in a browser', () => {
  let bench: RentalBench;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  const pages: Array<{ context: BrowserContext; page: Page; errors: string[] }> = [];

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 1 });
    ({ browser, close: closeBrowser } = await launchBrowser());
  }, 90_000);
  afterAll(async () => {
    await closeBrowser?.();
    await bench?.stop();
  });
  afterEach(() => {
    for (const { errors } of pages) expect(errors).toEqual([]);
  });

  /** A page logged in with the session key as the HttpOnly cookie login would set. */
  const pageWith = async (key: string) => {
    const opened = await openPage(browser, bench.gateway);
    await opened.context.addCookies([{ name: 'evs_session', value: key, url: bench.gateway, httpOnly: true }]);
    pages.push(opened);
    return opened.page;
  };

  it('a member reports damage with a photo while renting; the operator takes the car out of service, opens a repair and charges once', async () => {
    await bench.createPlan();
    const station = await bench.createStation({ name: 'Report station' });
    const car = await bench.createVehicle(station.id);
    const [previous, member] = await bench.createMembers(2);
    const giveBack = async (key: string, rentalId: string) => {
      await bench.reportVehicle(car.id, { doorsLocked: true, doorsOpen: false, ignition: false });
      expect((await bench.api('POST', `/api/v1/rentals/${rentalId}/return`, key, { stationId: station.id })).status).toBe(200);
    };
    // The previous renter leaves the car as the member then finds it: they answer for the damage.
    await giveBack(previous!.key, (await bench.api('POST', '/api/v1/rentals', previous!.key, { vehicleId: car.id })).json<{ id: string }>().id);
    const rented = await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id });
    expect(rented.status).toBe(201);

    const page = await pageWith(member!.key);
    await page.goto('/trip');
    await page.getByRole('button', { name: zh['report.open'] }).click({ timeout: UI_TIMEOUT });
    await page.getByLabel(zh['report.location']).selectOption('front');
    await page.getByLabel(zh['report.note']).fill('前保险杠有划痕');
    // A file that only claims to be a photo is refused with its own message; the report is kept for the next photo.
    await page.getByLabel(zh['report.photos']).setInputFiles({ name: 'bumper.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('%PDF-1.7 not a photo') });
    await page.getByRole('button', { name: zh['report.send'] }).click();
    await page.getByTestId('report-damage').getByRole('alert').getByText(zh['problem.unsupported-media-type']).waitFor({ timeout: UI_TIMEOUT });
    await page.getByLabel(zh['report.photos']).setInputFiles({ name: 'bumper.png', mimeType: 'image/png', buffer: PNG });
    await page.getByRole('button', { name: zh['report.send'] }).click();
    const thumbnail = page.getByTestId('report-damage').getByRole('img', { name: zh['report.photoN'].replace('{n}', '1') });
    await thumbnail.waitFor({ timeout: UI_TIMEOUT });
    await eventually(async () => expect(await thumbnail.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(1), UI_TIMEOUT);
    await page.getByText(zh['reportPhase.start']).first().waitFor({ timeout: UI_TIMEOUT });
    await screenshots(page, 'report-damage-member');
    expect((await bench.api('GET', '/api/v1/reports', member!.key)).json<{ items: Array<{ photos: unknown[] }> }>().items.map((r) => r.photos.length)).toEqual([
      1,
    ]);

    await giveBack(member!.key, rented.json<{ id: string }>().id);

    const console = await pageWith(bench.adminKey);
    await console.goto('/console/reports');
    const row = console.getByTestId('reports').locator('tbody tr', { hasText: '前保险杠有划痕' });
    await row.waitFor({ timeout: UI_TIMEOUT });
    expect(await row.getByRole('img').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(1);
    await row.getByRole('button', { name: zh['reports.outOfService'] }).click();
    await row.getByRole('button', { name: zh['reports.backInService'] }).waitFor({ timeout: UI_TIMEOUT });
    await row.getByRole('button', { name: zh['reports.openTask'] }).click();
    await row.getByRole('button', { name: zh['reports.closeTask'] }).waitFor({ timeout: UI_TIMEOUT });
    await row.getByLabel(zh['reviews.amountYuan']).fill('88.50');
    await row.getByLabel(zh['reports.chargeNote']).fill('保险杠修复');
    await row.getByRole('button', { name: zh['reports.chargeMember'] }).click();
    await row.getByText('保险杠修复').waitFor({ timeout: UI_TIMEOUT });
    await screenshots(console, 'report-damage-console');

    expect((await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json()).toMatchObject({ state: 'maintenance' });
    const reports = (await bench.admin('GET', `/api/v1/admin/reports?vehicleId=${car.id}`)).json<{ items: Array<Record<string, unknown>> }>().items;
    expect(reports).toEqual([
      expect.objectContaining({
        phase: 'start',
        location: 'front',
        task: expect.objectContaining({ kind: 'repair', state: 'open' }),
        charge: expect.objectContaining({ amountFen: 8_850 }),
      }),
    ]);
  }, 120_000);
});
