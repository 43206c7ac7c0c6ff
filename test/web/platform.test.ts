import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SUBJECTS } from '@evshare/kit';
import { provisionVehicleCredentials } from '@evshare/telematics';
import { SHANGHAI_STATIONS, startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { DICTIONARIES } from '../../services/web/ui/src/i18n/messages';
import { bearer, eventually, login, request } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { CJK, launchBrowser, openPage, screenshots, smsCode, uiTextWithoutData } from './browser';

const zh = DICTIONARIES.zh;
const en = DICTIONARIES.en;
const UI_TIMEOUT = 15_000;
/** The south station lies 0.02° (about 2.2 km) south of the north one. */
const SOUTH_DEG = 0.02;

/**
 * The WEB user platform in real Chromium against the whole platform (real Redis, NATS,
 * PostgreSQL): a new member's journey from registration to the receipt, the operators' console
 * publishing what the member then sees, English throughout, and the poll carrying the page when
 * the push channel is blocked.
 */
describe('the web platform in a browser', () => {
  let platform: TestPlatform;
  let gateway: string;
  let adminKey: string;
  let db: pg.Pool;
  let fleet: Fleet | undefined;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  let member: { context: BrowserContext; page: Page; errors: string[] };
  let operator: { context: BrowserContext; page: Page; errors: string[] };
  const phone = `139${String(Date.now()).slice(-8)}`;
  const stations: Record<'north' | 'south', { id: string; lat: number; lng: number }> = {} as never;
  const vin = `LWEB${String(Date.now()).slice(-8)}00001`.slice(0, 17);
  const plate = `沪W${String(Date.now()).slice(-5)}`;

  const PATHS: Record<string, string> = {
    'nav.stations': '/',
    'nav.trip': '/trip',
    'nav.wallet': '/wallet',
    'nav.history': '/history',
    'nav.notifications': '/notifications',
    'nav.account': '/account',
    'nav.charging': '/charging',
    'nav.piles': '/console/piles',
    'nav.fleet': '/console',
    'nav.consoleStations': '/console/stations',
    'nav.pricing': '/console/pricing',
    'nav.members': '/console/members',
    'nav.rentals': '/console/rentals',
    'nav.reviews': '/console/reviews',
    'nav.sms': '/console/sms',
    'nav.cluster': '/console/cluster',
  };
  /** Navigates inside the single-page app (no reload), as a member clicking the menu entry. */
  const nav = async (page: Page, key: keyof typeof PATHS) => {
    await page.getByRole('navigation').locator(`a[href="${PATHS[key]}"]`).click();
  };

  beforeAll(async () => {
    platform = await startTestPlatform({ appInstances: 2, env: { SYNC_INTERVAL_MS: '1000', UNLOCK_ACK_TIMEOUT_MS: '5000' } });
    gateway = platform.stack.gatewayUrl;
    adminKey = await login(gateway, platform.admin.account, platform.admin.password);
    db = new pg.Pool({ connectionString: platform.env.DATABASE_URL, max: 2 });
    // The car will be a simulated terminal parked at People's Square (the simulator's first station): north is there.
    const origin = SHANGHAI_STATIONS[0]!;
    for (const [name, lat] of [
      ['north', origin.lat],
      ['south', origin.lat - SOUTH_DEG],
    ] as const) {
      const reply = await request(`${gateway}/api/v1/admin/stations`, {
        method: 'POST',
        headers: bearer(adminKey),
        body: { name: name === 'north' ? '北站 North' : '南站 South', lat, lng: origin.lng, geofenceRadiusM: 200, capacity: 6, returnPolicy: 'open' },
      });
      expect(reply.status).toBe(201);
      stations[name] = reply.json();
    }
    ({ browser, close: closeBrowser } = await launchBrowser());
    member = await openPage(browser, gateway);
    operator = await openPage(browser, gateway);
  }, 60_000);

  afterAll(async () => {
    await closeBrowser?.();
    await fleet?.stop();
    await db?.end();
    await platform?.stop();
  });

  afterEach(() => {
    expect(member.errors).toEqual([]);
    expect(operator.errors).toEqual([]);
  });

  it('serves the UI through the gateway with a strict CSP, long-cached assets and client routes', async () => {
    const index = await request(`${gateway}/console/fleet`);
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toMatch(/default-src 'self'.*script-src 'self'/);
    const asset = index.body.match(/\/assets\/[^"]+\.js/)![0];
    const js = await request(`${gateway}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers['cache-control']).toMatch(/immutable/);
    expect((await request(`${gateway}/assets/missing-123.js`)).status).toBe(404);
    // The API stays the API's: an unknown API path is a problem, never the page.
    expect((await request(`${gateway}/api/v1/nope`)).headers['content-type']).toMatch(/problem\+json/);
  });

  it('a new member registers with the SMS code from the outbox and submits a driving licence', async () => {
    const { page } = member;
    await page.goto('/register');
    await expect(page.evaluate<string>('document.documentElement.lang')).resolves.toBe('zh-CN');
    await page.getByLabel(zh['field.phone']).fill(phone);
    // A wrong code first: the error is shown in Chinese with the field.
    await page.getByRole('button', { name: zh['register.sendCode'] }).click();
    let code: string | undefined;
    await eventually(
      async () => {
        code = await smsCode(gateway, adminKey, phone);
        expect(code).toMatch(/^\d{6}$/);
      },
      10_000,
      200,
    );
    await page.getByLabel(zh['field.code']).fill('12345');
    await page.getByLabel(zh['field.displayName']).fill('网页测试');
    await page.getByLabel(zh['field.password'], { exact: true }).fill('web-test-password');
    await page.getByRole('button', { name: zh['register.submit'] }).click();
    await page.getByRole('alert').filter({ hasText: zh['problem.validation'] }).waitFor({ timeout: UI_TIMEOUT });
    await expect(page.getByRole('alert').innerText()).resolves.toContain(`${zh['field.code']}: `);
    await screenshots(page, 'register-error');

    await page.getByLabel(zh['field.code']).fill(code!);
    await page.getByRole('button', { name: zh['register.submit'] }).click();
    await page.getByRole('heading', { name: zh['nav.stations'] }).waitFor({ timeout: UI_TIMEOUT });
    await page.locator('[data-live="push"]').waitFor({ timeout: UI_TIMEOUT });
    // From here on the page is never reloaded: this marker would vanish.
    await page.evaluate('window.journey = 1');

    await nav(page, 'nav.account');
    await page.getByLabel(zh['field.licenceNumber']).fill('310101199001011234');
    await page.getByLabel(zh['field.expiresOn']).fill('2035-06-30');
    await page.getByRole('button', { name: zh['account.submitLicence'] }).click();
    await page.locator('[data-testid="licence-status"][data-status="pending"]').waitFor({ timeout: UI_TIMEOUT });
    // Text messages: the defaults, one turned off; the bill and a debt are said to always go.
    const lowBalance = page.getByLabel(zh['sms.pref.low-balance']);
    await expect(lowBalance.isChecked()).resolves.toBe(true);
    await expect(page.getByLabel(zh['sms.pref.rental-started']).isChecked()).resolves.toBe(false);
    await page.getByText(zh['account.smsAlways']).waitFor({ timeout: UI_TIMEOUT });
    await lowBalance.uncheck();
    await page.getByRole('region', { name: zh['account.sms'] }).getByRole('status').filter({ hasText: zh['action.saved'] }).waitFor({ timeout: UI_TIMEOUT });
    await nav(page, 'nav.wallet');
    await nav(page, 'nav.account');
    await page.locator('[data-testid="sms-preferences"]').waitFor({ timeout: UI_TIMEOUT });
    await expect(page.getByLabel(zh['sms.pref.low-balance']).isChecked()).resolves.toBe(false);
    await screenshots(page, 'account');
  });

  it('an operator approves the licence and publishes a pricing plan and a car; the member sees the car appear', async () => {
    const { page } = operator;
    await page.goto('/login');
    await page.getByLabel(zh['field.account']).fill(platform.admin.account);
    await page.getByLabel(zh['field.password']).fill(platform.admin.password);
    await page.getByRole('button', { name: zh['login.submit'] }).click();
    await page.getByRole('heading', { name: zh['nav.fleet'] }).waitFor({ timeout: UI_TIMEOUT });

    // The member watches the north station, which has no car yet.
    await nav(member.page, 'nav.stations');
    await member.page
      .getByRole('button', { name: /北站 North/ })
      .first()
      .click();
    await member.page.getByText(zh['stations.noCars']).waitFor({ timeout: UI_TIMEOUT });

    await nav(page, 'nav.members');
    const row = page.locator(`[data-member="${phone}"]`);
    await row.waitFor({ timeout: UI_TIMEOUT });
    await row.getByRole('button', { name: zh['members.approve'] }).click();
    await row.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    // The member is told at once (push) and the licence shows approved without a reload.
    await member.page.getByRole('status').filter({ hasText: zh['note.licenceApproved'] }).waitFor({ timeout: UI_TIMEOUT });

    await nav(page, 'nav.pricing');
    await page.getByLabel(zh['field.name']).fill('网页测试价 Web plan');
    await page.getByLabel(zh['field.depositFen']).fill('50');
    await page.getByLabel(zh['field.oneWayFeeFen']).fill('12.5');
    await page.getByRole('button', { name: zh['pricing.publish'] }).click();
    await page.getByRole('status').filter({ hasText: zh['pricing.published'] }).waitFor({ timeout: UI_TIMEOUT });
    // Which plan prices a car of the member's future model at the north station: the one just published, fleet-wide.
    await page.getByLabel(zh['pricing.vehicleModel'], { exact: true }).nth(1).fill('BYD Dolphin');
    await page.getByLabel(zh['field.stationId'], { exact: true }).nth(1).selectOption(stations.north.id);
    await page.getByRole('button', { name: zh['pricing.lookup'] }).click();
    await page
      .locator('[data-testid="applicable-plan"]', { hasText: zh['pricing.scope.fleet'] })
      .filter({ hasText: 'Web plan' })
      .waitFor({ timeout: UI_TIMEOUT });
    // The minimums: a wrong charge is named next to its field; a right one is saved.
    await page.getByLabel(zh['pricing.minSoc']).fill('120');
    await page.getByRole('button', { name: zh['pricing.saveMinimums'] }).click();
    await page.getByRole('alert').filter({ hasText: zh['field.minSocPct'] }).waitFor({ timeout: UI_TIMEOUT });
    await page.getByLabel(zh['pricing.minSoc']).fill('15');
    await page.getByRole('button', { name: zh['pricing.saveMinimums'] }).click();
    await eventually(async () => {
      const settings = await request(`${gateway}/api/v1/admin/rental-settings`, { headers: bearer(adminKey) });
      expect(settings.json()).toMatchObject({ minSocPct: 15 });
    }, UI_TIMEOUT);
    await screenshots(page, 'console-pricing');

    await nav(page, 'nav.fleet');
    await page.getByLabel(zh['field.vin']).fill('BAD');
    await page.getByLabel(zh['field.plate']).fill(plate);
    await page.getByLabel(zh['field.model']).fill('BYD Dolphin');
    await page.getByLabel(zh['field.homeStationId']).selectOption(stations.north.id);
    await page.getByRole('button', { name: zh['fleet.publishCar'] }).click();
    // A wrong VIN is named in Chinese next to the field.
    await page.getByRole('alert').filter({ hasText: zh['field.vin'] }).waitFor({ timeout: UI_TIMEOUT });
    await page.getByLabel(zh['field.vin']).fill(vin);
    await page.getByRole('button', { name: zh['fleet.publishCar'] }).click();
    await page.getByRole('status').filter({ hasText: zh['fleet.carPublished'] }).waitFor({ timeout: UI_TIMEOUT });
    await page.locator(`[data-plate="${plate}"]`).waitFor({ timeout: UI_TIMEOUT });
    await screenshots(page, 'console-fleet');

    await member.page.locator(`[data-vehicle="${plate}"]`).waitFor({ timeout: UI_TIMEOUT });
    await screenshots(member.page, 'stations');
  });

  it('the member tops up, pays the deposit, reserves, rents; the car drives itself to another station; the member finds it, locks it from the app, returns one-way and sees the bill and the receipt arrive without reloading', async () => {
    const { page } = member;
    await nav(page, 'nav.wallet');
    await page.getByLabel(zh['field.amountYuan']).first().fill('100');
    await page.getByRole('button', { name: zh['wallet.topUpSubmit'], exact: true }).click();
    await page.locator('[data-testid="balance"]', { hasText: '¥100.00' }).waitFor({ timeout: UI_TIMEOUT });
    await page.getByLabel(zh['field.amountYuan']).nth(1).fill('50');
    await page.getByRole('button', { name: zh['wallet.moveSubmit'] }).click();
    await page.locator('[data-testid="deposit"]', { hasText: '¥50.00' }).waitFor({ timeout: UI_TIMEOUT });

    // The car's terminal comes online over MQTT: the vehicle simulator with provisioned credentials
    // and, as in make run, the rental autopilot, here driving to the south station at 30× speed.
    // From here on the test only clicks: the car does the rest by itself.
    const credentials = await provisionVehicleCredentials(db, [vin]);
    fleet = await startVehicleFleet({
      brokerUrl: platform.stack.mqttUrl!,
      credentials,
      seed: 11,
      telemetryParkedMs: 300,
      telemetryDrivingMs: 100,
      rentals: { stations: [{ name: 'south', ...stations.south }], outboundKm: 0, timeScale: 30 },
    });
    await eventually(
      async () => {
        const { rows } = await db.query('SELECT online, reported_at FROM vehicles WHERE vin = $1', [vin]);
        expect(rows[0]).toMatchObject({ online: true, reported_at: expect.any(Date) });
      },
      10_000,
      100,
    );

    await nav(page, 'nav.stations');
    await page
      .getByRole('button', { name: /北站 North/ })
      .first()
      .click();
    const car = page.locator(`[data-vehicle="${plate}"]`);
    await car.getByRole('button', { name: zh['stations.reserve'] }).click();
    await page.getByRole('heading', { name: zh['trip.reservation'] }).waitFor({ timeout: UI_TIMEOUT });
    await expect(page.getByRole('timer').innerText()).resolves.toMatch(/^1[45]:\d\d$/);
    await screenshots(page, 'trip-reservation');

    // Rent: the car acknowledges the unlock over the vehicle link, the member gets in and drives off.
    await page.getByRole('button', { name: zh['trip.unlock'] }).click();
    await page.getByRole('heading', { name: zh['trip.rental'] }).waitFor({ timeout: UI_TIMEOUT });
    const control = page.locator('[data-testid="car-control"]');
    await control.getByRole('button', { name: zh['trip.carLocate'] }).click();
    await page.getByRole('status').filter({ hasText: zh['trip.carDone.locate'] }).waitFor({ timeout: UI_TIMEOUT });

    // The car drives to the south station and parks, doors closed; the quote follows its reports
    // until nothing stands in the way (the platform locks closed doors itself at the return).
    await page.getByLabel(zh['field.returnStation']).selectOption(stations.south.id);
    const quote = page.locator('[data-testid="quote"]');
    await quote.getByText(zh['bill.oneWay'], { exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await quote.locator('button.primary:enabled').waitFor({ timeout: 45_000 });
    await screenshots(page, 'trip-return-quote');
    // The member locks the parked car from the app.
    await control.getByRole('button', { name: zh['trip.carLock'] }).click();
    await page.getByRole('status').filter({ hasText: zh['trip.carDone.lock'] }).waitFor({ timeout: UI_TIMEOUT });
    await quote.getByRole('button', { name: zh['trip.confirmReturn'] }).click();
    await page.getByRole('heading', { name: zh['trip.ended'] }).waitFor({ timeout: UI_TIMEOUT });
    // Driven about 2.2 km: the bill has the distance and the one-way fee.
    await expect(page.locator('.bill').innerText()).resolves.toMatch(/2[.,][1-3]/);
    const total = await page.locator('[data-testid="bill-total"]').innerText();
    expect(total).toMatch(/^¥\d+\.\d\d$/);

    // The billing service's receipts are pushed: they arrive without a reload, the trip's fee and
    // the one-way fee each in its own toast, neither hiding the other.
    for (const fee of ['租车费用', '异地还车费'])
      await page.getByRole('status').filter({ hasText: '扣款' }).filter({ hasText: fee }).waitFor({ timeout: UI_TIMEOUT });
    await nav(page, 'nav.notifications');
    await page.locator('[data-testid="notifications"] [data-kind="receipt"]').first().waitFor({ timeout: UI_TIMEOUT });
    await page.locator('[data-testid="notifications"] [data-kind="rental.ended"]').waitFor({ timeout: UI_TIMEOUT });
    await screenshots(page, 'notifications');
    await nav(page, 'nav.wallet');
    await page.locator('[data-testid="ledger"] [data-kind="rental"]').waitFor({ timeout: UI_TIMEOUT });
    await page.locator('[data-testid="ledger"] [data-kind="one-way-fee"]').waitFor({ timeout: UI_TIMEOUT });
    await screenshots(page, 'wallet');
    await nav(page, 'nav.history');
    // The reservation the car was rented from, among the member's past reservations.
    await page.locator('[data-testid="reservations"] tr[data-status="converted"]').waitFor({ timeout: UI_TIMEOUT });
    await expect(page.locator('[data-testid="reservations"] tr[data-status="converted"]').innerText()).resolves.toContain(zh['reservationStatus.converted']);
    await page.locator('[data-rental] button').first().click();
    await page.getByRole('heading', { name: zh['history.receipt'] }).waitFor({ timeout: UI_TIMEOUT });
    await screenshots(page, 'history');
    await expect(page.evaluate<number>('window.journey')).resolves.toBe(1);
  });

  it('the member books a charging slot at a pile; the operator sees the pile', async () => {
    // A pile as provisioning registers it (its OCPP link is the charging service's own test's).
    await db.query(`INSERT INTO piles (id, station_id, password_hash, max_power_w) VALUES ('WEB-PILE-1', $1, 'scrypt$unused', 11000)`, [stations.south.id]);
    const { page } = member;
    await nav(page, 'nav.charging');
    await page.getByRole('combobox', { name: zh['field.pileId'] }).selectOption('WEB-PILE-1');
    await page.getByRole('button', { name: zh['charging.bookSubmit'], exact: true }).click();
    await page.getByText(zh['chargingStatus.booked']).waitFor({ timeout: UI_TIMEOUT });
    // The same slot again is refused, in Chinese.
    await page.getByRole('button', { name: zh['charging.bookSubmit'], exact: true }).click();
    await page.getByRole('alert').filter({ hasText: zh['problem.slot-taken'] }).waitFor({ timeout: UI_TIMEOUT });
    await screenshots(page, 'charging');
    await nav(operator.page, 'nav.piles');
    await operator.page.getByRole('cell', { name: 'WEB-PILE-1' }).waitFor({ timeout: UI_TIMEOUT });

    // Two piles at the other station with plans as smart charging stores them (its planning needs
    // piles on OCPP, the charging service's own tests): cheap valley hours first, under a 22 kW cap.
    await db.query('UPDATE stations SET charging_cap_w = 22000 WHERE id = $1', [stations.north.id]);
    const slotMs = 15 * 60_000;
    const first = Math.floor(Date.now() / slotMs) * slotMs;
    const valley = (at: number) => {
      const hour = (new Date(at).getUTCHours() + 8) % 24;
      return hour < 8 || hour >= 23;
    };
    const plans = [
      { id: 'WEB-PILE-N1', power: (at: number, i: number) => (i < 2 ? 11_000 : valley(at) ? 11_000 : 0) },
      { id: 'WEB-PILE-N2', power: (at: number) => (valley(at) ? 7_400 : 0) },
    ];
    for (const pile of plans) {
      const slots = Array.from({ length: 96 }, (_, i) => ({ start: new Date(first + i * slotMs).toISOString(), powerW: pile.power(first + i * slotMs, i) }));
      const energyWh = slots.reduce((sum, slot) => sum + slot.powerW / 4, 0);
      await db.query(`INSERT INTO piles (id, station_id, password_hash, max_power_w) VALUES ($1, $2, 'scrypt$unused', 11000)`, [pile.id, stations.north.id]);
      await db.query('INSERT INTO charging_plans (pile_id, station_id, planned_at, plan, sent) VALUES ($1, $2, now(), $3, true)', [
        pile.id,
        stations.north.id,
        JSON.stringify({
          schedule: {
            pileId: pile.id,
            vehicleId: pile.id,
            slots,
            energyWh,
            storedWh: energyWh,
            targetWh: energyWh,
            costFen: 0,
            deadline: null,
            meetsDeadline: true,
            shortfallWh: 0,
          },
          unmet: [],
          profile: {},
        }),
      ]);
    }
    await operator.page.getByRole('combobox', { name: zh['col.station'], exact: true }).selectOption(stations.north.id);
    const chart = operator.page.getByRole('img', { name: zh['plan.chartTitle'] });
    await chart.waitFor({ timeout: UI_TIMEOUT });
    // A day's horizon crosses every band; the cap line and the legend name the cap.
    for (const band of ['peak', 'flat', 'valley']) expect(await chart.locator(`[data-band="${band}"]`).count()).toBeGreaterThan(0);
    await expect(chart.getByTestId('plan-cap').count()).resolves.toBe(1);
    await operator.page.getByText(zh['plan.cap'].replace('{kw}', '22'), { exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
    // The same figures as a table, behind a disclosure: one row per slot, the slot's total in the last column.
    await operator.page.getByText(zh['plan.table'], { exact: true }).click();
    const rows = operator.page.getByTestId('plan-table').locator('tbody tr');
    // Waited for, not read at once: until the north station's plans arrive, the page may still
    // show the station chosen before (96 rows of nothing).
    const firstTotal = valley(first) ? '18.4' : '11';
    await rows
      .first()
      .locator('td')
      .last()
      .filter({ hasText: new RegExp(`^${firstTotal.replace('.', '\\.')}$`) })
      .waitFor({ timeout: UI_TIMEOUT });
    await expect(rows.count()).resolves.toBe(96);
    await operator.page.getByText(zh['plan.table'], { exact: true }).click();
    await screenshots(operator.page, 'console-piles');
  });

  it('switching to English changes every visible string, the lang attribute and the formats', async () => {
    for (const { page } of [member, operator]) {
      await page.getByRole('button', { name: 'English' }).click();
      await expect(page.evaluate<string>('document.documentElement.lang')).resolves.toBe('en');
    }
    const data = ['北站 North', '南站 South', plate, '网页测试价 Web plan'];
    const memberPages = ['nav.stations', 'nav.trip', 'nav.wallet', 'nav.history', 'nav.charging', 'nav.notifications', 'nav.account'] as const;
    for (const key of memberPages) {
      await nav(member.page, key);
      await member.page.getByRole('heading', { level: 1, name: en[key], exact: true }).waitFor({ timeout: UI_TIMEOUT });
      const text = await uiTextWithoutData(member.page, data);
      expect({ page: key, cjk: text.match(new RegExp(`.{0,30}${CJK.source}.{0,30}`, 'g')) }).toEqual({ page: key, cjk: null });
    }
    await expect(member.page.locator('[data-testid="ledger"]').count()).resolves.toBe(0);
    await nav(member.page, 'nav.wallet');
    await expect(member.page.locator('[data-testid="ledger"]').innerText()).resolves.toMatch(/Rental fee[\s\S]*-¥/);
    await screenshots(member.page, 'wallet-en');

    const consolePages = [
      'nav.fleet',
      'nav.consoleStations',
      'nav.pricing',
      'nav.members',
      'nav.rentals',
      'nav.piles',
      'nav.reviews',
      'nav.sms',
      'nav.cluster',
    ] as const;
    for (const key of consolePages) {
      await nav(operator.page, key);
      await operator.page.getByRole('heading', { level: 1, name: en[key], exact: true }).waitFor({ timeout: UI_TIMEOUT });
      if (key === 'nav.cluster') {
        await operator.page.locator('[data-instance]').first().waitFor({ timeout: UI_TIMEOUT });
        // A scaling decision heard on the bus is listed and marked on the chart; the balancer's decisions are listed.
        platform.stack.bus.publish(SUBJECTS.autoscaleDecision, {
          from: 2,
          to: 3,
          reason: 'ScaleUp',
          message: 'load: 2 -> 3 replicas',
          at: new Date().toISOString(),
        });
        await operator.page.getByTestId('scaling-decisions').getByText(en['cluster.scaleUp'], { exact: true }).waitFor({ timeout: UI_TIMEOUT });
        await operator.page.locator('[data-decision="2-3"]').waitFor({ state: 'attached', timeout: UI_TIMEOUT });
        await expect(operator.page.getByTestId('balancer-events').locator('[data-event="joined"]').count()).resolves.toBeGreaterThanOrEqual(2);
      }
      const text = await uiTextWithoutData(operator.page, data);
      expect({ page: key, cjk: text.match(new RegExp(`.{0,30}${CJK.source}.{0,30}`, 'g')) }).toEqual({ page: key, cjk: null });
      await screenshots(operator.page, `console-${key.slice(4).toLowerCase()}-en`);
    }
    // The choice is remembered, and the cluster view drew both APP instances.
    await expect(operator.page.locator('[data-instance]').count()).resolves.toBe(2);
  });

  it('with the push channel blocked the page still updates through the poll, and an ended session returns to the login page', async () => {
    const blocked = await openPage(browser, gateway);
    let attempts = 0;
    await blocked.context.routeWebSocket(/\/push$/, async (ws) => {
      attempts += 1;
      // As a proxy that refuses WebSockets would: the socket closes before any frame.
      await ws.close({ code: 1013, reason: 'blocked by the test' });
    });
    const { page } = blocked;
    await page.goto('/login');
    await page.getByLabel(zh['field.account']).fill(platform.member.account);
    await page.getByLabel(zh['field.password']).fill(platform.member.password);
    await page.getByRole('button', { name: zh['login.submit'] }).click();
    await page.locator('[data-live="poll"]').waitFor({ timeout: UI_TIMEOUT });
    await nav(page, 'nav.notifications');

    const demo = (await request(`${gateway}/api/v1/admin/members?q=${platform.member.account}`, { headers: bearer(adminKey) })).json<{
      items: Array<{ id: string }>;
    }>().items[0]!;
    const sent = await request(`${gateway}/api/v1/admin/members/${demo.id}/notifications`, {
      method: 'POST',
      headers: bearer(adminKey),
      body: { kind: 'notice', title: 'Poll works', body: {} },
    });
    expect(sent.status).toBe(201);
    await page.locator('[data-testid="notifications"] [data-kind="notice"]', { hasText: 'Poll works' }).waitFor({ timeout: UI_TIMEOUT });
    await expect(page.locator('[data-live]').getAttribute('data-live')).resolves.toBe('poll');
    // It kept trying to reconnect the push channel, with backoff.
    expect(attempts).toBeGreaterThanOrEqual(2);
    await screenshots(page, 'notifications-polling');

    // The session ends elsewhere (logged out): the next poll answers 401 and the page goes to the login.
    const key = (await blocked.context.cookies()).find((c) => c.name === 'evs_session')!.value;
    expect((await request(`${gateway}/api/v1/auth/logout`, { method: 'POST', headers: bearer(key) })).status).toBe(204);
    await page.getByText(zh['login.expired']).waitFor({ timeout: UI_TIMEOUT });
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(blocked.errors).toEqual([]);
    await blocked.context.close();
  });
});
