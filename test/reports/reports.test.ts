import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { bearer, eventually, request, type Reply } from '../support/http';
import { checkProperty, fuzzTimeout } from '../support/fuzz';
import { expectProblem, startRentalBench, type RentalBench } from '../rental/support';

// A small photo limit keeps the too-large case cheap; the rule is the same at 5 MiB. The return
// window is short enough to wait out, long enough for every report this file makes at a return.
const PHOTO_MAX_BYTES = 64 * 1024;
const RETURN_WINDOW_MS = 6_000;
const ENV = {
  UNLOCK_ACK_TIMEOUT_MS: '1500',
  UNLOCK_RESEND_MS: '400',
  RENTAL_SWEEP_INTERVAL_MS: '200',
  REPORT_PHOTO_MAX_BYTES: String(PHOTO_MAX_BYTES),
  REPORT_MAX_PHOTOS: '3',
  REPORT_RETURN_WINDOW_MS: String(RETURN_WINDOW_MS),
};

const jpeg = (size = 2048) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(size - 4)]);
const png = (size = 1024) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(size - 8)]);
const pdf = () => Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n');

interface Report {
  id: string;
  phase: string;
  kind: string;
  memberId: string;
  vehicleId: string;
  photos: Array<{ id: string; url: string; contentType: string; sizeBytes: number }>;
}

describe('damage and cleanliness reports', () => {
  let bench: RentalBench;
  let home: { id: string };

  beforeAll(async () => {
    bench = await startRentalBench({ env: ENV });
    await bench.createPlan();
    home = await bench.createStation({ name: 'Reports home', returnPolicy: 'open' });
  });
  afterAll(() => bench?.stop());

  const upload = (key: string, reportId: string, data: Buffer, contentType: string): Promise<Reply> =>
    request(`${bench.gateway}/api/v1/reports/${reportId}/photos`, { method: 'POST', headers: { ...bearer(key), 'content-type': contentType }, rawBody: data });
  const download = (key: string, url: string) =>
    new Promise<{ status: number; type: string | undefined; data: Buffer }>((resolve, reject) => {
      void fetch(`${bench.gateway}${url}`, { headers: bearer(key) })
        .then(async (r) => resolve({ status: r.status, type: r.headers.get('content-type') ?? undefined, data: Buffer.from(await r.arrayBuffer()) }))
        .catch(reject);
    });
  const rent = async (key: string, vehicleId: string) => {
    const rented = await bench.api('POST', '/api/v1/rentals', key, { vehicleId });
    expect(rented.status).toBe(201);
    return rented.json<{ id: string }>().id;
  };
  const giveBack = async (key: string, rentalId: string, vehicleId: string) => {
    await bench.reportVehicle(vehicleId, { doorsLocked: true, doorsOpen: false, ignition: false });
    const returned = await bench.api('POST', `/api/v1/rentals/${rentalId}/return`, key, { stationId: home.id });
    expect(returned.status).toBe(200);
  };
  const counts = async () =>
    (
      await bench.db.query<Record<string, number>>(
        `SELECT (SELECT count(*) FROM damage_reports)::int AS reports, (SELECT count(*) FROM damage_report_photos)::int AS photos,
                (SELECT count(*) FROM blobs)::int AS blobs, (SELECT count(*) FROM rental_deduction_outbox)::int AS outbox,
                (SELECT count(*) FROM damage_reports WHERE task_state IS NOT NULL OR charged_at IS NOT NULL)::int AS decided`,
      )
    ).rows[0]!;

  it('a member reports with photos before driving off and at the return; the start report holds the previous renter answerable', async () => {
    const car = await bench.createVehicle(home.id);
    const [first, second] = await bench.createMembers(2);

    const firstRental = await rent(first!.key, car.id);
    const atStart = await bench.api('POST', '/api/v1/reports', first!.key, {
      rentalId: firstRental,
      kind: 'damage',
      note: 'Scratch on the front bumper',
      location: 'front',
    });
    expect(atStart.status).toBe(201);
    const startReport = atStart.json<Report>();
    expect(startReport).toMatchObject({ phase: 'start', kind: 'damage', memberId: first!.id, vehicleId: car.id, photos: [] });
    const photo = jpeg();
    const added = await upload(first!.key, startReport.id, photo, 'image/jpeg');
    expect(added.status).toBe(201);
    const stored = added.json<Report['photos'][number]>();
    expect(stored).toMatchObject({ contentType: 'image/jpeg', sizeBytes: photo.length, url: `/api/v1/reports/${startReport.id}/photos/${stored.id}` });
    const back = await download(first!.key, stored.url);
    expect(back).toMatchObject({ status: 200, type: 'image/jpeg' });
    expect(back.data.equals(photo)).toBe(true);

    await giveBack(first!.key, firstRental, car.id);
    const atReturn = await bench.api('POST', '/api/v1/reports', first!.key, { rentalId: firstRental, kind: 'dirt', note: 'Mud on the back seats' });
    expect(atReturn.status).toBe(201);
    const returnReport = atReturn.json<Report>();
    expect(returnReport).toMatchObject({ phase: 'return', kind: 'dirt', location: null });
    expect((await upload(first!.key, returnReport.id, png(), 'image/png')).status).toBe(201);
    expect(
      (await bench.api('GET', `/api/v1/reports?rentalId=${firstRental}`, first!.key)).json<{ items: Report[] }>().items.map((r) => [r.id, r.photos.length]),
    ).toEqual([
      [returnReport.id, 1],
      [startReport.id, 1],
    ]);

    // The next renter finds damage: the member who returned the car answers for it.
    const secondRental = await rent(second!.key, car.id);
    const found = (
      await bench.api('POST', '/api/v1/reports', second!.key, { rentalId: secondRental, kind: 'damage', note: 'Cracked mirror', location: 'left' })
    ).json<Report>();
    expect(found.phase).toBe('start');
    const seen = (await bench.admin('GET', `/api/v1/admin/reports/${found.id}`)).json<{ responsibleMemberId: string; plate: string; vehicleState: string }>();
    expect(seen).toMatchObject({ responsibleMemberId: first!.id, plate: car.plate, vehicleState: 'in_use' });
    expect((await bench.admin('GET', `/api/v1/admin/reports/${returnReport.id}`)).json()).toMatchObject({ responsibleMemberId: first!.id, phase: 'return' });

    // Another member's report, photo or rental is not there for them; operators see the photos.
    expectProblem(await bench.api('GET', `/api/v1/reports/${startReport.id}`, second!.key), 404);
    expect((await download(second!.key, stored.url)).status).toBe(404);
    expectProblem(await upload(second!.key, startReport.id, jpeg(), 'image/jpeg'), 404);
    expectProblem(await bench.api('POST', '/api/v1/reports', second!.key, { rentalId: firstRental, kind: 'dirt', note: 'not mine' }), 404);
    expect((await download(bench.adminKey, stored.url)).data.equals(photo)).toBe(true);
    expect((await bench.api('GET', '/api/v1/reports', second!.key)).json<{ items: Report[] }>().items.map((r) => r.id)).toEqual([found.id]);
    await giveBack(second!.key, secondRental, car.id);
  });

  it('a photo that is not an image, or not the declared one, is refused 415 naming the field; one too large 413; past the count 409', async () => {
    const car = await bench.createVehicle(home.id);
    const [member] = await bench.createMembers(1);
    const rentalId = await rent(member!.key, car.id);
    const report = (await bench.api('POST', '/api/v1/reports', member!.key, { rentalId, kind: 'damage', note: 'Dent' })).json<Report>();
    const before = await counts();
    expectProblem(await upload(member!.key, report.id, pdf(), 'image/jpeg'), 415, 'unsupported-media-type', 'body');
    expectProblem(await upload(member!.key, report.id, png(), 'image/jpeg'), 415, 'unsupported-media-type', 'header.content-type');
    expectProblem(await upload(member!.key, report.id, jpeg(), 'image/gif'), 415, 'unsupported-media-type');
    expectProblem(await upload(member!.key, report.id, pdf(), 'application/pdf'), 415, 'unsupported-media-type');
    expectProblem(await upload(member!.key, report.id, Buffer.alloc(0), 'image/jpeg'), 400, 'validation', 'body');
    expectProblem(await upload(member!.key, report.id, jpeg(PHOTO_MAX_BYTES + 1), 'image/jpeg'), 413, 'body-too-large');
    expect(await counts()).toEqual(before);

    for (let i = 0; i < 3; i += 1) expect((await upload(member!.key, report.id, jpeg(), 'image/jpeg')).status).toBe(201);
    expectProblem(await upload(member!.key, report.id, jpeg(), 'image/jpeg'), 409, 'too-many-photos');
    expect((await counts()).blobs).toBe(before.blobs! + 3);
    await giveBack(member!.key, rentalId, car.id);
  });

  it("the operator's charge is in the member's ledger under the report's reference, once however often it is asked", async () => {
    const deductions = await bench.deductions();
    const car = await bench.createVehicle(home.id);
    const [member] = await bench.createMembers(1);
    const rentalId = await rent(member!.key, car.id);
    await giveBack(member!.key, rentalId, car.id);
    const report = (
      await bench.api('POST', '/api/v1/reports', member!.key, { rentalId, kind: 'damage', note: 'Hit a bollard', location: 'rear' })
    ).json<Report>();
    await upload(member!.key, report.id, jpeg(), 'image/jpeg');

    const charge = { amountFen: 12_000, note: 'Rear bumper repair' };
    const replies = await Promise.all([1, 2, 3].map(() => bench.admin('POST', `/api/v1/admin/reports/${report.id}/charge`, charge)));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 202]);
    for (const reply of replies)
      expect(reply.json()).toMatchObject({ reportId: report.id, reference: `damage-report:${report.id}`, memberId: member!.id, amountFen: 12_000 });
    expect((await bench.admin('POST', `/api/v1/admin/reports/${report.id}/charge`, charge)).json()).toMatchObject({ repeat: true });
    expectProblem(await bench.admin('POST', `/api/v1/admin/reports/${report.id}/charge`, { ...charge, amountFen: 13_000 }), 409, 'report-charged');

    await eventually(async () => {
      const ledger = (await bench.api('GET', '/api/v1/wallet/ledger?limit=50', member!.key)).json<{
        items: Array<{ reference: string; kind: string; amountFen: number; description: string }>;
      }>();
      const entries = ledger.items.filter((e) => e.reference === `damage-report:${report.id}`);
      expect(entries).toEqual([expect.objectContaining({ kind: 'damage', amountFen: -12_000 })]);
      expect(entries[0]!.description).toContain(report.id);
      expect(entries[0]!.description).toContain('1 photo');
    }, 10_000);
    expect(deductions.messages.filter((m) => m.reference === `damage-report:${report.id}`).length).toBeGreaterThanOrEqual(1);
    await deductions.stop();
    expect((await bench.admin('GET', `/api/v1/admin/reports/${report.id}`)).json()).toMatchObject({
      charge: { reference: `damage-report:${report.id}`, memberId: member!.id, amountFen: 12_000, note: 'Rear bumper repair' },
    });
  });

  it('a car taken out of service refuses reservations and rentals; the task opens and closes', async () => {
    const car = await bench.createVehicle(home.id);
    const [member, next] = await bench.createMembers(2);
    const rentalId = await rent(member!.key, car.id);
    await giveBack(member!.key, rentalId, car.id);
    const report = (await bench.api('POST', '/api/v1/reports', member!.key, { rentalId, kind: 'dirt', note: 'Spilled coffee' })).json<Report>();

    expect((await bench.admin('POST', `/api/v1/admin/vehicles/${car.id}/state`, { state: 'maintenance' })).status).toBe(200);
    const opened = await bench.admin('POST', `/api/v1/admin/reports/${report.id}/task`, { action: 'open', kind: 'cleaning', note: 'Seats' });
    expect(opened.json()).toMatchObject({ vehicleState: 'maintenance', task: { kind: 'cleaning', state: 'open', note: 'Seats' } });
    expectProblem(await bench.admin('POST', `/api/v1/admin/reports/${report.id}/task`, { action: 'open', kind: 'repair' }), 409, 'task-open');
    expect((await bench.admin('GET', '/api/v1/admin/reports?task=open')).json<{ items: Report[] }>().items.map((r) => r.id)).toContain(report.id);

    expectProblem(await bench.api('POST', '/api/v1/reservations', next!.key, { vehicleId: car.id }), 409, 'vehicle-unavailable');
    expectProblem(await bench.api('POST', '/api/v1/rentals', next!.key, { vehicleId: car.id }), 409, 'vehicle-unavailable');

    expect((await bench.admin('POST', `/api/v1/admin/reports/${report.id}/task`, { action: 'close' })).json()).toMatchObject({ task: { state: 'done' } });
    expectProblem(await bench.admin('POST', `/api/v1/admin/reports/${report.id}/task`, { action: 'close' }), 409, 'no-open-task');
    expect((await bench.admin('POST', `/api/v1/admin/vehicles/${car.id}/state`, { state: 'available' })).status).toBe(200);
    expect((await bench.api('POST', '/api/v1/reservations', next!.key, { vehicleId: car.id })).status).toBe(201);
  });

  it('a report after the return window is refused', async () => {
    const car = await bench.createVehicle(home.id);
    const [member] = await bench.createMembers(1);
    const rentalId = await rent(member!.key, car.id);
    await giveBack(member!.key, rentalId, car.id);
    expect((await bench.api('POST', '/api/v1/reports', member!.key, { rentalId, kind: 'dirt', note: 'In time' })).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, RETURN_WINDOW_MS + 500));
    expectProblem(await bench.api('POST', '/api/v1/reports', member!.key, { rentalId, kind: 'dirt', note: 'Too late' }), 409, 'report-window-closed');
  });

  it(
    'bad input on every report endpoint is a precise 4xx problem and changes nothing',
    async () => {
      const car = await bench.createVehicle(home.id);
      const [member] = await bench.createMembers(1);
      const rentalId = await rent(member!.key, car.id);
      const report = (await bench.api('POST', '/api/v1/reports', member!.key, { rentalId, kind: 'damage', note: 'Fuzz target' })).json<Report>();
      const before = await counts();
      const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constant(''), fc.constant('x'.repeat(1001)), fc.constant('\u0000'));
      const junk = fc.oneof(
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        text,
        fc.array(fc.integer(), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
      );
      const badId = fc.oneof(fc.constant('not-a-uuid'), fc.constant('123'), fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent));

      const expectRefused = (reply: Reply, statuses: number[]) => {
        if (!statuses.includes(reply.status)) throw new Error(`expected ${statuses.join('/')}, got ${reply.status}: ${reply.body}`);
        expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
      };
      await checkProperty(
        'reports: bad report bodies',
        40,
        fc.record(
          {
            rentalId: fc.oneof(junk, fc.uuid()),
            kind: fc.oneof(junk, fc.constantFrom('damage', 'dirt')),
            note: fc.oneof(junk, text),
            location: junk,
            extra: junk,
          },
          { requiredKeys: [] },
        ),
        async (body) => {
          // A valid body to a rental that is not the member's is a 404, anything else a 400.
          expectRefused(await bench.api('POST', '/api/v1/reports', member!.key, body), [400, 404]);
        },
      );
      await checkProperty('reports: bad ids and queries', 30, badId, text, async (id, value) => {
        expectRefused(await bench.api('GET', `/api/v1/reports/${id}`, member!.key), [400, 404]);
        expectRefused(await bench.api('GET', `/api/v1/reports?rentalId=${encodeURIComponent(value)}`, member!.key), [400]);
        expectRefused(await bench.api('GET', `/api/v1/reports/${report.id}/photos/${id}`, member!.key), [400, 404]);
        expectRefused(await upload(member!.key, id, jpeg(64), 'image/jpeg'), [400, 404]);
        expectRefused(await bench.admin('GET', `/api/v1/admin/reports/${id}`), [400, 404]);
        expectRefused(await bench.admin('GET', `/api/v1/admin/reports?limit=${encodeURIComponent(value)}x`), [400]);
      });
      await checkProperty(
        'reports: photos that are not images',
        30,
        fc.uint8Array({ minLength: 1, maxLength: 256 }).filter((b) => !(b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) && b[0] !== 0x89 && b[0] !== 0x52),
        fc.constantFrom('image/jpeg', 'image/png', 'image/webp', 'text/plain', 'application/octet-stream', 'image/svg+xml'),
        async (data, type) => {
          expectRefused(await upload(member!.key, report.id, Buffer.from(data), type), [415]);
        },
      );
      await checkProperty(
        'reports: bad task and charge bodies',
        40,
        fc.record(
          { action: fc.oneof(junk, fc.constantFrom('open', 'close', 'reopen')), kind: junk, note: fc.oneof(junk, fc.constant('n'.repeat(501))) },
          { requiredKeys: [] },
        ),
        // The amount is always wrong, so no case is a charge; the other fields vary around it.
        fc.record(
          { amountFen: fc.constantFrom(0, -1, 1.5, 1e12, '100', null, [100]), note: fc.oneof(junk, fc.constant('')), memberId: junk },
          { requiredKeys: ['amountFen'] },
        ),
        async (task, charge) => {
          // Only a body no schema accepts: a well-formed open/close or charge is not bad input.
          const okTask =
            (task.action === 'close' &&
              Object.keys(task).every((k) => k === 'action' || (k === 'note' && typeof task.note === 'string' && task.note.length <= 500))) ||
            (task.action === 'open' &&
              (task.kind === 'repair' || task.kind === 'cleaning') &&
              (task.note === undefined || (typeof task.note === 'string' && task.note.length <= 500)));
          if (!okTask) expectRefused(await bench.admin('POST', `/api/v1/admin/reports/${report.id}/task`, task), [400]);
          expectRefused(await bench.admin('POST', `/api/v1/admin/reports/${report.id}/charge`, charge), [400]);
          expectRefused(await bench.api('POST', `/api/v1/admin/reports/${report.id}/charge`, member!.key, { amountFen: 100, note: 'by a member' }), [403]);
        },
      );
      expect(await counts()).toEqual(before);
    },
    fuzzTimeout(120_000, 4),
  );
});
