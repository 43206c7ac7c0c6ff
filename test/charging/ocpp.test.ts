import type { IHandlersOption } from 'ocpp-rpc';
import WebSocket from 'ws';
import { energyCostFen, parseTariffBands, SMART_PROFILE_ID } from '@evshare/charging';
import { eventually } from '../support/http';
import { messageText } from '../support/ws';
import { nowIso, startChargingBench, type ChargingBench } from './support';

// OCPP 1.6J interoperability: the central system driven by ocpp-rpc's own client, and by raw
// WebSocket frames for what a well-behaved client never sends.
describe('charging: OCPP 1.6J central system', () => {
  let bench: ChargingBench;

  beforeAll(async () => {
    bench = await startChargingBench({ piles: 4 });
  }, 60_000);
  afterAll(async () => {
    await bench?.stop();
  });

  const pileRow = async (id: string) =>
    (
      await bench.db.query<{ state: string; vin: string | null; vehicleId: string | null; instanceId: string | null; vendor: string | null }>(
        'SELECT state, vin, vehicle_id AS "vehicleId", instance_id AS "instanceId", vendor FROM piles WHERE id = $1',
        [id],
      )
    ).rows[0]!;
  const ledger = async (memberId: string) =>
    (
      await bench.db.query<{ reference: string; amount: number; kind: string }>(
        'SELECT reference, amount_fen::int AS amount, kind FROM ledger WHERE member_id = $1',
        [memberId],
      )
    ).rows;

  it('runs a full session: boot, parked car, authorize, start, profile followed, meter values, stop, billed once', async () => {
    const pile = bench.piles[0]!;
    // A DC fast charger: a few seconds of it deliver an energy worth a few fen.
    expect((await bench.api('PATCH', `/api/v1/charging/piles/${pile.id}`, bench.admin.key, { maxPowerW: 350_000 })).status).toBe(200);
    const vehicle = bench.vehicles[0]!;
    const client = bench.client(pile);
    const profiles: Array<NonNullable<IHandlersOption['params']>> = [];
    client.handle('SetChargingProfile', async ({ params }) => {
      profiles.push(params!);
      return { status: 'Accepted' };
    });
    await client.connect();
    try {
      const boot = (await client.call('BootNotification', { chargePointVendor: 'Interop', chargePointModel: 'ocpp-rpc' })) as {
        status: string;
        interval: number;
        currentTime: string;
      };
      expect(boot).toMatchObject({ status: 'Accepted', interval: 300 });
      expect(Date.parse(boot.currentTime)).not.toBeNaN();
      expect(await client.call('Heartbeat', {})).toHaveProperty('currentTime');
      await client.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing' });
      await eventually(async () => expect(await pileRow(pile.id)).toMatchObject({ state: 'occupied', instanceId: 'charging-a', vendor: 'Interop' }));

      // The pile reports the parked car: bound to the pile.
      expect(await client.call('DataTransfer', { vendorId: 'evshare', messageId: 'ParkedVehicle', data: vehicle.vin })).toEqual({ status: 'Accepted' });
      expect(await client.call('DataTransfer', { vendorId: 'evshare', messageId: 'ParkedVehicle', data: 'LNOTAKNOWNVIN0000' })).toMatchObject({
        status: 'Rejected',
      });
      expect(await client.call('DataTransfer', { vendorId: 'acme', messageId: 'x' })).toEqual({ status: 'UnknownVendorId' });
      expect(await client.call('DataTransfer', { vendorId: 'evshare', messageId: 'Other' })).toEqual({ status: 'UnknownMessageId' });
      expect(await pileRow(pile.id)).toMatchObject({ vin: vehicle.vin, vehicleId: vehicle.id });

      expect(await client.call('Authorize', { idTag: bench.member.card })).toEqual({ idTagInfo: { status: 'Accepted' } });
      expect(await client.call('Authorize', { idTag: 'FFFF0000' })).toEqual({ idTagInfo: { status: 'Invalid' } });

      // The pile's clock agrees with the server's: the session is priced at the times it sends.
      const startedAt = Date.now();
      const start = (await client.call('StartTransaction', {
        connectorId: 1,
        idTag: bench.member.card,
        meterStart: 1000,
        timestamp: new Date(startedAt).toISOString(),
      })) as {
        transactionId: number;
        idTagInfo: { status: string };
      };
      expect(start.idTagInfo.status).toBe('Accepted');
      expect(Number.isInteger(start.transactionId)).toBe(true);
      // A repeated StartTransaction (lost answer) gets the same transaction.
      const again = (await client.call('StartTransaction', {
        connectorId: 1,
        idTag: bench.member.card,
        meterStart: 1000,
        timestamp: new Date(startedAt).toISOString(),
      })) as { transactionId: number };
      expect(again.transactionId).toBe(start.transactionId);
      await client.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });

      // Smart charging plans the station and sends the pile a TxProfile for its transaction.
      await bench.charging.planStation(bench.stationId);
      await eventually(() => expect(profiles.some((p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile')).toBe(true));
      const profile = profiles.find((p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile')!;
      expect(profile).toMatchObject({
        connectorId: 1,
        csChargingProfiles: {
          chargingProfileId: SMART_PROFILE_ID,
          chargingProfileKind: 'Absolute',
          transactionId: start.transactionId,
          chargingSchedule: { chargingRateUnit: 'W' },
        },
      });
      const periods = profile.csChargingProfiles.chargingSchedule.chargingSchedulePeriod as Array<{ startPeriod: number; limit: number }>;
      expect(periods.length).toBeGreaterThan(0);
      for (const period of periods) {
        expect(period.startPeriod % 900).toBe(0);
        expect(period.limit).toBeLessThanOrEqual(22_000);
      }
      // The pile has the profile; the central system marks it sent once the pile's answer is in.
      await eventually(async () => {
        const plan = await bench.api('GET', `/api/v1/charging/piles/${pile.id}/plan`, bench.admin.key);
        expect(plan.status).toBe(200);
        expect(plan.json<{ sent: boolean; plan: { schedule: { pileId: string } } }>()).toMatchObject({ sent: true, plan: { schedule: { pileId: pile.id } } });
      });

      await client.call('MeterValues', {
        connectorId: 1,
        transactionId: start.transactionId,
        meterValue: [
          {
            timestamp: nowIso(),
            sampledValue: [
              { value: '1.1', measurand: 'Energy.Active.Import.Register', unit: 'kWh' },
              { value: '3300', measurand: 'Power.Active.Import', unit: 'W' },
              { value: '57', measurand: 'SoC', unit: 'Percent' },
            ],
          },
        ],
      });
      const connector = (
        await bench.db.query(
          'SELECT energy_wh::int AS "energyWh", power_w AS "powerW", soc_pct::float AS "socPct" FROM pile_connectors WHERE pile_id = $1 AND connector_id = 1',
          [pile.id],
        )
      ).rows[0];
      expect(connector).toEqual({ energyWh: 1100, powerW: 3300, socPct: 57 });
      expect(Number((await bench.db.query('SELECT count(*) FROM meter_samples WHERE transaction_id = $1', [start.transactionId])).rows[0].count)).toBe(1);

      // 200 Wh in at least 2.5 s: inside 350 kW × the elapsed time × 1.1.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + 2_500 - Date.now())));
      const stoppedAt = Date.now();
      const stop = { transactionId: start.transactionId, meterStop: 1_200, timestamp: new Date(stoppedAt).toISOString(), reason: 'EVDisconnected' };
      expect(await client.call('StopTransaction', stop)).toEqual({});
      const tariff = {
        spans: parseTariffBands('valley:0-8,flat:8-10,peak:10-15,flat:15-18,peak:18-21,flat:21-23,valley:23-24'),
        fenPerKwh: { peak: 120, flat: 75, valley: 35 },
      };
      const expectedFen = energyCostFen(tariff, startedAt, stoppedAt, 200);
      expect(expectedFen).toBeGreaterThan(0);
      await eventually(
        async () =>
          expect(await ledger(bench.member.id)).toEqual([{ reference: `charging:${pile.id}:${start.transactionId}`, amount: -expectedFen, kind: 'charging' }]),
        15_000,
        100,
      );

      // The pile repeats StopTransaction (it never saw the answer): billed once all the same.
      expect(await client.call('StopTransaction', stop)).toEqual({});
      expect(await client.call('StopTransaction', { ...stop, meterStop: 99_000 })).toEqual({});
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await ledger(bench.member.id)).toHaveLength(1);
      const tx = (
        await bench.db.query('SELECT energy_wh::int AS "energyWh", amount_fen::int AS "amountFen", status FROM charging_transactions WHERE id = $1', [
          start.transactionId,
        ])
      ).rows[0];
      expect(tx).toEqual({ energyWh: 200, amountFen: expectedFen, status: 'completed' });
      const balance = (await bench.db.query('SELECT wallet_balance_fen::int AS b FROM members WHERE id = $1', [bench.member.id])).rows[0].b;
      expect(balance).toBe(100_000 - expectedFen);

      // The car leaves: the binding goes.
      expect(await client.call('DataTransfer', { vendorId: 'evshare', messageId: 'ParkedVehicle', data: '' })).toEqual({ status: 'Accepted' });
      expect(await pileRow(pile.id)).toMatchObject({ vin: null, vehicleId: null });
    } finally {
      await client.close();
    }
    await eventually(async () => expect(await pileRow(pile.id)).toMatchObject({ state: 'offline', instanceId: null }));
  });

  it("blocks a suspended member's card, opens no billable session for an unknown card, and tracks faults", async () => {
    const pile = bench.piles[3]!;
    const suspended = await bench.createMember({ status: 'suspended' });
    const client = bench.client(pile);
    await client.connect();
    try {
      await client.call('BootNotification', { chargePointVendor: 'Interop', chargePointModel: 'ocpp-rpc' });
      expect(await client.call('Authorize', { idTag: suspended.card })).toEqual({ idTagInfo: { status: 'Blocked' } });
      const start = (await client.call('StartTransaction', { connectorId: 1, idTag: 'DEADBEEF', meterStart: 0, timestamp: nowIso() })) as {
        transactionId: number;
        idTagInfo: { status: string };
      };
      expect(start.idTagInfo.status).toBe('Invalid');
      // The pile ends the session it had to open; there is nobody to bill.
      expect(await client.call('StopTransaction', { transactionId: start.transactionId, meterStop: 500, timestamp: nowIso(), reason: 'DeAuthorized' })).toEqual(
        {},
      );
      const tx = (
        await bench.db.query('SELECT member_id AS "memberId", amount_fen::int AS "amountFen", status FROM charging_transactions WHERE id = $1', [
          start.transactionId,
        ])
      ).rows[0];
      expect(tx).toEqual({ memberId: null, amountFen: 0, status: 'completed' });

      await client.call('StatusNotification', { connectorId: 1, errorCode: 'GroundFailure', status: 'Faulted' });
      expect((await bench.db.query('SELECT state, error_code AS "errorCode" FROM piles WHERE id = $1', [pile.id])).rows[0]).toEqual({
        state: 'faulted',
        errorCode: 'GroundFailure',
      });
      await client.call('StatusNotification', { connectorId: 0, errorCode: 'NoError', status: 'Available' });
      expect((await pileRow(pile.id)).state).toBe('available');
    } finally {
      await client.close();
    }
  });

  it('refuses an unknown charge point, a wrong password and a missing subprotocol at the handshake', async () => {
    const pile = bench.piles[1]!;
    const refusal = async (overrides: { identity?: string; password?: string }) => {
      const client = bench.client(pile, overrides);
      const responses: number[] = [];
      await expect(client.connect()).rejects.toThrow(/Unauthorized/);
      return responses;
    };
    await refusal({ identity: 'NO-SUCH-PILE' });
    await refusal({ password: 'wrong-password-123' });
    const status401 = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${bench.ocppUrl}/${pile.id}`, 'ocpp1.6', {
        headers: { authorization: `Basic ${Buffer.from(`${pile.id}:nope-nope-nope`).toString('base64')}` },
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('accepted with a wrong password')));
      ws.on('error', () => undefined);
    });
    expect(status401).toBe(401);
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${bench.ocppUrl}/${pile.id}`, {
        headers: { authorization: `Basic ${Buffer.from(`${pile.id}:${pile.password}`).toString('base64')}` },
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('accepted without a subprotocol')));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(400);
    expect(await pileRow(pile.id)).toMatchObject({ state: 'offline', instanceId: null });
  });

  it('answers malformed frames and unknown actions with the right CALLERROR and keeps the connection', async () => {
    const pile = bench.piles[1]!;
    const ws = new WebSocket(`${bench.ocppUrl}/${pile.id}`, 'ocpp1.6', {
      headers: { authorization: `Basic ${Buffer.from(`${pile.id}:${pile.password}`).toString('base64')}` },
    });
    const frames: unknown[][] = [];
    ws.on('message', (data) => frames.push(JSON.parse(messageText(data))));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    // One frame at a time: a frame without a readable id is answered with a null id.
    const exchange = async (raw: string) => {
      ws.send(raw);
      await eventually(() => expect(frames.length).toBeGreaterThan(0));
      return frames.shift()!;
    };
    try {
      expect(await exchange('[2,"m1","FooBar",{}]')).toEqual([4, 'm1', 'NotImplemented', expect.any(String), {}]);
      // Schema violations: a missing required field, a wrong type, an unknown property, a value
      // outside the enumeration or too long. Codes as the OCPP 1.6J errata v1.0 (section 5) spells them.
      expect((await exchange('[2,"m2","BootNotification",{}]')).slice(0, 3)).toEqual([4, 'm2', 'OccurrenceConstraintViolation']);
      expect((await exchange('[2,"m3","BootNotification",{"chargePointVendor":5,"chargePointModel":"x"}]')).slice(0, 3)).toEqual([
        4,
        'm3',
        'TypeConstraintViolation',
      ]);
      expect((await exchange('[2,"m4","Heartbeat",{"surprise":true}]')).slice(0, 3)).toEqual([4, 'm4', 'PropertyConstraintViolation']);
      expect((await exchange('[2,"m5","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Sleeping"}]')).slice(0, 3)).toEqual([
        4,
        'm5',
        'FormationViolation',
      ]);
      expect((await exchange('[2,"m5b","Authorize",{"idTag":"012345678901234567890"}]')).slice(0, 3)).toEqual([4, 'm5b', 'FormationViolation']);
      // Framing errors come before the id is read: answered with the placeholder id "-1".
      expect((await exchange('[9,"m6"]')).slice(0, 3)).toEqual([4, '-1', 'MessageTypeNotSupported']);
      expect((await exchange('this is not json')).slice(0, 3)).toEqual([4, '-1', 'RpcFrameworkError']);
      expect((await exchange('{"an":"object"}')).slice(0, 3)).toEqual([4, '-1', 'RpcFrameworkError']);
      expect((await exchange('[2,7,"Heartbeat",{}]')).slice(0, 3)).toEqual([4, '-1', 'RpcFrameworkError']);
      // Still connected and served.
      const ok = await exchange('[2,"m9","Heartbeat",{}]');
      expect(ok).toEqual([3, 'm9', { currentTime: expect.any(String) }]);
      expect(ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      ws.close();
    }
  });

  it('routes a central-system call to the instance holding the pile (NATS) and refuses calls to offline piles', async () => {
    const other = await bench.startInstance('charging-b');
    const pile = bench.piles[2]!;
    const client = bench.client(pile);
    const calls: Array<{ method: string; params: IHandlersOption['params'] }> = [];
    for (const method of ['RemoteStartTransaction', 'GetConfiguration', 'TriggerMessage']) {
      client.handle(method, async ({ params }) => {
        calls.push({ method, params });
        return method === 'GetConfiguration' ? { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }] } : { status: 'Accepted' };
      });
    }
    await client.connect();
    try {
      await client.call('BootNotification', { chargePointVendor: 'Interop', chargePointModel: 'ocpp-rpc' });
      await eventually(async () => expect((await pileRow(pile.id)).instanceId).toBe('charging-a'));
      // The operator's request lands on instance b; the pile's socket is on a.
      const started = await bench.api('POST', `/api/v1/charging/piles/${pile.id}/remote-start`, bench.admin.key, { idTag: 'AB12CD34' }, other.url);
      expect(started.status).toBe(200);
      expect(started.json()).toMatchObject({ status: 'Accepted', idTag: 'AB12CD34' });
      const config = await bench.api(
        'POST',
        `/api/v1/charging/piles/${pile.id}/ocpp/GetConfiguration`,
        bench.admin.key,
        { params: { key: ['HeartbeatInterval'] } },
        other.url,
      );
      expect(config.json()).toMatchObject({ result: { configurationKey: [{ key: 'HeartbeatInterval', value: '300' }] } });
      const trigger = await bench.api(
        'POST',
        `/api/v1/charging/piles/${pile.id}/ocpp/TriggerMessage`,
        bench.admin.key,
        { params: { requestedMessage: 'Heartbeat' } },
        other.url,
      );
      expect(trigger.json()).toMatchObject({ result: { status: 'Accepted' } });
      expect(calls.map((c) => c.method)).toEqual(['RemoteStartTransaction', 'GetConfiguration', 'TriggerMessage']);
      expect(calls[0]!.params).toEqual({ idTag: 'AB12CD34', connectorId: 1 });
      // Params that break the OCPP schema never reach the pile.
      const invalid = await bench.api('POST', `/api/v1/charging/piles/${pile.id}/ocpp/TriggerMessage`, bench.admin.key, {
        params: { requestedMessage: 'Coffee' },
      });
      expect(invalid.status).toBe(400);
      expect(invalid.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(calls).toHaveLength(3);
    } finally {
      await client.close();
    }
    await eventually(async () => expect((await pileRow(pile.id)).instanceId).toBeNull());
    const offline = await bench.api('POST', `/api/v1/charging/piles/${pile.id}/remote-start`, bench.admin.key, { idTag: 'AB12CD34' }, other.url);
    expect(offline.status).toBe(409);
    expect(offline.json()).toMatchObject({ type: 'urn:evshare:problem:pile-offline' });

    // The pile comes back through another instance (a new balancer route): the stale socket on
    // the first instance is closed and the pile is held by the new one only.
    const stale = bench.client(pile);
    await stale.connect();
    await eventually(async () => expect((await pileRow(pile.id)).instanceId).toBe('charging-a'));
    const closed = new Promise((resolve) => stale.once('close', resolve));
    const fresh = bench.client(pile, { endpoint: `${other.url.replace('http', 'ws')}/ocpp` });
    await fresh.connect();
    try {
      await closed;
      await eventually(async () => expect(await pileRow(pile.id)).toMatchObject({ instanceId: 'charging-b' }));
      expect(bench.charging.connectedPiles()).toBe(0);
      expect(other.connectedPiles()).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});
