import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createLogger } from '@evshare/kit';
import { PANEL_TEXT, startDevPanel, type DevPanel } from '@evshare/stack';
import { provisionVehicleCredentials } from '@evshare/telematics';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { DICTIONARIES } from '../../services/web/ui/src/i18n/messages';
import { eventually } from '../support/http';
import { startRentalBench, type RentalBench } from '../rental/support';
import { launchBrowser, openPage, screenshots } from './browser';

const zh = DICTIONARIES.zh;
const panelZh = PANEL_TEXT.zh;
const panelEn = PANEL_TEXT.en;
const UI_TIMEOUT = 15_000;

/**
 * A walk-up by card, driven through the developer panel in Chromium as a person at `make run`
 * would: the member's card held to a simulated car on the panel's page, the rental appearing in
 * the member's own web UI, the car in use; then, in English, the car driven to a station nearby,
 * where it parks and the walk-up ends. Real platform, vehicle link and simulated terminals.
 */
describe('the developer panel in a browser', () => {
  let bench: RentalBench;
  let fleet: Fleet;
  let devPanel: DevPanel;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  let member: { context: BrowserContext; page: Page; errors: string[] };
  let panel: { context: BrowserContext; page: Page; errors: string[] };
  let vin: string;
  let plate: string;
  let near: { id: string; lat: number; lng: number };
  let memberRow: { id: string; key: string; username: string };
  const card = `CA4D${Date.now().toString(16).toUpperCase().slice(-4)}`;

  const rentals = async () =>
    (await bench.api('GET', '/api/v1/rentals', memberRow.key)).json<{ items: Array<{ status: string; cardUid: string | null }> }>().items;
  const carState = async () => (await bench.db.query<{ state: string }>('SELECT state FROM vehicles WHERE vin = $1', [vin])).rows[0]!.state;

  beforeAll(async () => {
    // The platform's own vehicle link, as in the stack. A walk-up is not pushed to the member's
    // page: the page's poll (slowed while push is up, to 6 × SYNC_INTERVAL_MS) brings it.
    bench = await startRentalBench({ appInstances: 1, vehicleLink: true, env: { SYNC_INTERVAL_MS: '1000' } });
    const home = await bench.createStation({ name: '起点站 Home' });
    near = await bench.createStation({ name: '近站 Near', lat: home.lat + 0.002, lng: home.lng });
    await bench.createPlan();
    ({ vin, plate } = await bench.createVehicle(home.id));
    bench.carBehaviour.set(vin, 'silent');
    fleet = await startVehicleFleet({
      brokerUrl: bench.platform.stack.mqttUrl!,
      credentials: await provisionVehicleCredentials(bench.db, [vin]),
      seed: 5,
      telemetryParkedMs: 300,
      telemetryDrivingMs: 300,
      starts: { [vin]: { lat: home.lat, lng: home.lng } },
      rentals: { stations: [home, near] },
    });
    devPanel = await startDevPanel({ fleet, db: bench.db, log: createLogger('dev-panel', 'warn'), port: 0, nodeEnv: 'test' });
    const [created] = await bench.createMembers(1);
    const { rows } = await bench.db.query<{ username: string }>('SELECT username FROM members WHERE id = $1', [created!.id]);
    memberRow = { ...created!, username: rows[0]!.username };
    expect((await bench.api('POST', '/api/v1/cards', memberRow.key, { uid: card })).status).toBe(201);
    await eventually(() => expect(fleet.car(vin).fleet.members.get(memberRow.id)).toEqual([card]), 5_000);
    ({ browser, close: closeBrowser } = await launchBrowser());
    member = await openPage(browser, bench.gateway);
    panel = await openPage(browser, devPanel.url);
  }, 120_000);

  afterAll(async () => {
    await closeBrowser?.();
    await devPanel?.stop();
    await fleet?.stop();
    await bench?.stop();
  });

  afterEach(() => {
    expect(member.errors).toEqual([]);
    expect(panel.errors).toEqual([]);
  });

  it('a card held to the car on the panel starts a walk-up: the rental appears in the member’s UI and the car is in use', async () => {
    await member.page.goto('/login');
    await member.page.getByLabel(zh['field.account']).fill(memberRow.username);
    await member.page.getByLabel(zh['field.password']).fill('rental-bench-password');
    await member.page.getByRole('button', { name: zh['login.submit'] }).click();
    await member.page.getByRole('heading', { name: zh['nav.stations'] }).waitFor({ timeout: UI_TIMEOUT });
    await member.page.goto('/trip');

    const { page } = panel;
    await page.goto('/');
    await page.getByRole('heading', { name: `evshare · ${panelZh.title}` }).waitFor({ timeout: UI_TIMEOUT });
    const car = page.locator(`section[data-vin="${vin}"]`);
    await car.getByRole('heading', { name: `${plate} · ${vin}` }).waitFor({ timeout: UI_TIMEOUT });
    await expect(car.locator('[data-state]').getAttribute('data-state')).resolves.toBe('available');
    // A card the car does not know first: it stays locked and the page says why.
    await car.getByLabel(panelZh.card).fill('DEADBEEF');
    await car.getByRole('button', { name: panelZh.holdCard }).click();
    await page
      .locator('#status.error')
      .filter({ hasText: /not-listed/ })
      .waitFor({ timeout: UI_TIMEOUT });
    expect(await rentals()).toEqual([]);

    await car.getByLabel(panelZh.card).fill(card.toLowerCase());
    await car.getByRole('button', { name: panelZh.holdCard }).click();
    await page.getByRole('status').filter({ hasText: panelZh.granted }).waitFor({ timeout: UI_TIMEOUT });
    // The member's own page shows the rental at its next poll, without a reload.
    await member.page.getByRole('heading', { name: zh['trip.rental'] }).waitFor({ timeout: UI_TIMEOUT });
    expect(await rentals()).toMatchObject([{ status: 'active', cardUid: card }]);
    expect(await carState()).toBe('in_use');
    await car.locator('[data-state="in_use"]').waitFor({ timeout: UI_TIMEOUT });
    await expect(car.locator('[data-state]').innerText()).resolves.toBe(panelZh['state.in_use']);
    await screenshots(page, 'dev-panel-walk-up');
  }, 60_000);

  it('in English: the car driven to the station nearby parks there and the walk-up ends', async () => {
    const { page } = panel;
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: `evshare · ${panelEn.title}` }).waitFor({ timeout: UI_TIMEOUT });
    await expect(page.evaluate<string>('document.documentElement.lang')).resolves.toBe('en');
    const car = page.locator(`section[data-vin="${vin}"]`);
    await car.getByLabel(panelEn.station).selectOption(near.id);
    await car.getByLabel(panelEn.speed).fill('100');
    await car.getByRole('button', { name: panelEn.drive }).click();
    await page.getByRole('status').filter({ hasText: 'Driving to 近站 Near' }).waitFor({ timeout: UI_TIMEOUT });
    // About 220 m at 100 km/h: parked within seconds, the trip uploaded, the rental ended.
    await eventually(async () => expect(await rentals()).toMatchObject([{ status: 'ended' }]), 20_000, 250);
    await car.locator('[data-state="available"]').waitFor({ timeout: UI_TIMEOUT });
    await expect(car.locator('[data-state]').innerText()).resolves.toBe(panelEn['state.available']);
    await screenshots(page, 'dev-panel-parked');
    // The language sticks across a reload.
    await page.reload();
    await page.getByRole('heading', { name: `evshare · ${panelEn.title}` }).waitFor({ timeout: UI_TIMEOUT });
  }, 60_000);
});
