import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SimulatedPile } from '../../sims/pile/src';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { DICTIONARIES } from '../../services/web/ui/src/i18n/messages';
import { bearer, eventually, login, request } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { launchBrowser, openPage, screenshots } from './browser';

const zh = DICTIONARIES.zh;
const en = DICTIONARIES.en;
const UI_TIMEOUT = 15_000;

/**
 * The operators' onboarding page in real Chromium against the whole platform: a pile and a car
 * terminal registered by clicking only, the simulated pile and car then connecting with the
 * secrets the page showed once; a wrong entry is named on its field.
 */
describe('console onboarding in a browser', () => {
  let platform: TestPlatform;
  let gateway: string;
  let adminKey: string;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  let operator: { context: BrowserContext; page: Page; errors: string[] };
  let pile: SimulatedPile | undefined;
  let fleet: Fleet | undefined;
  let station: { id: string; name: string };
  let car: { id: string; vin: string };
  const suffix = String(Date.now()).slice(-6);

  const admin = (method: string, path: string, body?: unknown) =>
    request(`${gateway}${path}`, { method, headers: bearer(adminKey), ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    platform = await startTestPlatform({ appInstances: 1 });
    gateway = platform.stack.gatewayUrl;
    adminKey = await login(gateway, platform.admin.account, platform.admin.password);
    station = (
      await admin('POST', '/api/v1/admin/stations', {
        name: `接入站 Onboard ${suffix}`,
        lat: 31.23,
        lng: 121.47,
        geofenceRadiusM: 200,
        capacity: 6,
        returnPolicy: 'open',
      })
    ).json();
    const vin = `LNWB${suffix}0000000`.slice(0, 17);
    const created = await admin('POST', '/api/v1/admin/vehicles', {
      vin,
      plate: `沪N${suffix.slice(-5)}`,
      model: 'Onboard EV',
      batteryKwh: 50,
      ratedRangeKm: 400,
      homeStationId: station.id,
    });
    expect(created.status).toBe(201);
    car = created.json();
    ({ browser, close: closeBrowser } = await launchBrowser());
    operator = await openPage(browser, gateway);
    const { page } = operator;
    await page.goto('/login');
    await page.getByLabel(zh['field.account'], { exact: true }).fill(platform.admin.account);
    await page.getByLabel(zh['field.password'], { exact: true }).fill(platform.admin.password);
    await page.getByRole('button', { name: zh['login.submit'] }).click();
    await page.getByRole('heading', { name: zh['nav.fleet'] }).waitFor({ timeout: UI_TIMEOUT });
  }, 90_000);

  afterAll(async () => {
    await pile?.stop();
    await fleet?.stop();
    await closeBrowser?.();
    await platform?.stop();
  });

  afterEach(() => {
    expect(operator.errors).toEqual([]);
  });

  const secretShown = async (page: Page) => (await page.locator('code.secret').last().textContent({ timeout: UI_TIMEOUT }))!.trim();

  it('registers a pile by clicking; the simulated pile connects with the password shown once', async () => {
    const { page } = operator;
    await page.getByRole('navigation').locator('a[href="/console/onboarding"]').click();
    await page.getByRole('heading', { name: zh['onboarding.pileTitle'] }).waitFor({ timeout: UI_TIMEOUT });
    const form = page.locator('form[aria-labelledby="onboarding-pile-title"]');
    // A wrong id is named on its field, and nothing is registered.
    await form.getByLabel(zh['field.pileId'], { exact: true }).fill('坏 id');
    await form.getByLabel(zh['field.stationId'], { exact: true }).selectOption(station.id);
    await form.getByRole('button', { name: zh['onboarding.register'] }).click();
    await form
      .locator('.field-error')
      .filter({ has: page.getByLabel(zh['field.pileId'], { exact: true }) })
      .waitFor({ timeout: UI_TIMEOUT });

    const id = `WEB-${suffix}`;
    await form.getByLabel(zh['field.pileId'], { exact: true }).fill(id);
    await form.getByLabel(zh['field.maxPowerKw'], { exact: true }).fill('22');
    await form.getByRole('button', { name: zh['onboarding.register'] }).click();
    await page.getByText(zh['onboarding.shownOnce']).waitFor({ timeout: UI_TIMEOUT });
    const password = await secretShown(page);
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    await screenshots(page, 'console-onboarding');

    const ocpp = `${platform.stack.gatewayUrl.replace('http', 'ws')}/ocpp`;
    pile = new SimulatedPile(
      { id, password, maxPowerW: 22000, carMaxPowerW: 11000, batteryWh: 60_000, socPct: 40 },
      { url: ocpp, meterIntervalMs: 60_000, speed: 1, autoStart: false, heartbeatIntervalMs: 60_000 },
    );
    await pile.start();
    await eventually(
      async () =>
        expect((await admin('GET', `/api/v1/charging/piles/${id}`)).json()).toMatchObject({ id, stationId: station.id, maxPowerW: 22000, state: 'available' }),
      10_000,
      100,
    );
  });

  it("sets the station's cap and a fixed temperature; a temperature out of range is named on its field", async () => {
    const { page } = operator;
    const form = page.locator('form[aria-labelledby="onboarding-station-title"]');
    await form.getByLabel(zh['field.stationId'], { exact: true }).selectOption(station.id);
    await form.getByLabel(zh['field.chargingCapKw'], { exact: true }).fill('40');
    await form.getByLabel(zh['field.ambientSource'], { exact: true }).selectOption('value');
    await form.getByLabel(zh['field.celsius'], { exact: true }).fill('80');
    await form.getByRole('button', { name: zh['onboarding.save'] }).click();
    await form
      .locator('.field-error')
      .filter({ has: page.getByLabel(zh['field.celsius'], { exact: true }) })
      .waitFor({ timeout: UI_TIMEOUT });
    expect((await admin('GET', `/api/v1/charging/stations/${station.id}/charging`)).json()).toMatchObject({ chargingCapW: null, ambientC: null });

    await form.getByLabel(zh['field.celsius'], { exact: true }).fill('-5.5');
    await form.getByRole('button', { name: zh['onboarding.save'] }).click();
    await page.getByText(zh['onboarding.saved']).waitFor({ timeout: UI_TIMEOUT });
    expect((await admin('GET', `/api/v1/charging/stations/${station.id}/charging`)).json()).toMatchObject({
      chargingCapW: 40000,
      ambientC: -5.5,
      ambientFeedUrl: null,
    });
  });

  it('issues a car terminal credential by clicking; the simulated car connects with it (and the page reads in English)', async () => {
    const { page } = operator;
    const form = page.locator('form[aria-labelledby="onboarding-car-title"]');
    await form.getByLabel(zh['field.vehicleId'], { exact: true }).selectOption(car.id);
    await form.getByRole('button', { name: zh['onboarding.issue'] }).click();
    await page.getByText(car.vin, { exact: true }).waitFor({ timeout: UI_TIMEOUT });
    const secret = await secretShown(page);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    fleet = await startVehicleFleet({
      brokerUrl: platform.stack.mqttUrl!,
      credentials: [{ vin: car.vin, secret }],
      seed: 5,
      telemetryParkedMs: 300,
      telemetryDrivingMs: 100,
    });
    await eventually(
      async () => expect((await admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json()).toMatchObject({ reportedAt: expect.any(String) }),
      10_000,
      100,
    );

    await page.getByRole('button', { name: en['app.langEn'] }).first().click();
    await page.getByRole('heading', { name: en['onboarding.pileTitle'] }).waitFor({ timeout: UI_TIMEOUT });
    await page.getByRole('heading', { name: en['onboarding.carTitle'] }).waitFor({ timeout: UI_TIMEOUT });
  });
});
