import http from 'node:http';
import querystring from 'node:querystring';
import fc from 'fast-check';
import pg from 'pg';
import {
  TEST_REDIS_URL,
  createMemoryBus,
  createRedisStore,
  createSessionStore,
  hashPassword,
  hashSessionKey,
  newSessionKey,
  type SessionStore,
} from '@evshare/kit';
import { provisionVehicleCredentials } from '@evshare/telematics';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { casesTried, checkProperty, fuzzTimeout } from '../support/fuzz';
import { eventually, login, request } from '../support/http';
import { conforms, conformingValue, type Schema } from '../support/json-schema';
import { startTestPlatform, type TestPlatform } from '../support/platform';

/**
 * The HTTP API generative adversarial suite: every operation of the platform's own OpenAPI
 * document, driven through the gateway of the real platform (each service its own process) with
 * hostile path parameters, queries, bodies, headers and cookies, as nobody, a member and an
 * operator. Properties: no 5xx and no hang for any client input; every 4xx is problem+json and a
 * validation problem names the wrong field; a request the schema refuses is never a 2xx; another
 * member's things are never served; after every batch a canary member logs in, polls, reserves,
 * rents and returns a car, and no service process has exited.
 *
 * Who may do what to whom: the fuzzer acts as its own member ("actor") and as the operator. Its
 * ids are those of a second member ("target", whose reservation, notification and payment the
 * actor must never reach), its own station and two cars without terminals, and random ones. The
 * canary member, station and car are made with ids the fuzzer never sees. The operator may publish
 * pricing plans only from the year 2100 on, so the plan in force (the canary's) stays in force.
 */

const BATCH = 100;
/** Each property runs FUZZ_SECONDS in a soak (`make fuzz`), a bounded number of cases otherwise. */
const TEST_TIMEOUT_MS = fuzzTimeout(240_000);
const REQUEST_TIMEOUT_MS = 15_000;
/** List every distinct failure at the end instead of stopping (and shrinking) at the first: for soaks. */
const KEEP_GOING = process.env.FUZZ_KEEP_GOING === '1';
const MODE = (process.env.FUZZ_PLATFORM_MODE as 'processes' | 'in-process' | undefined) ?? 'processes';

type Role = 'nobody' | 'member' | 'operator';
type Access = 'public' | 'provider' | 'member' | 'admin';

interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

interface Op {
  method: string;
  path: string;
  access: Access;
  params: Param[];
  body?: Schema;
}

/** One generated request, before a session key is filled in. */
interface Case {
  op: string;
  method: string;
  /** Path and query, already encoded (or deliberately mis-encoded). */
  url: string;
  as: Role;
  credential: Credential;
  headers: Array<[string, string]>;
  body?: string | Buffer;
  contentType?: string;
  /** Where the request certainly breaks the document's rules (`body.amountFen`, `path.id`, ...). */
  violation?: string;
  /** Whether everything but `violation` is within the rules (so the problem must name it). */
  onlyViolation: boolean;
  /** A path id that belongs to the target member, requested by the actor. */
  othersThing: boolean;
  from: string;
}

type Credential =
  | { form: 'none' }
  | { form: 'raw'; headers: Array<[string, string]> }
  | { form: 'bearer' | 'cookie' | 'bearer-lowercase' | 'bearer-padded' | 'cookie-after-bogus' | 'bogus-bearer-and-cookie' | 'both' };

function opsOf(doc: {
  paths: Record<
    string,
    Record<string, { tags: string[]; security?: unknown[]; parameters?: Param[]; requestBody?: { content: Record<string, { schema: Schema }> } }>
  >;
}): Op[] {
  const ops: Op[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const open = Array.isArray(op.security) && op.security.length === 0;
      // Operators' operations are tagged `admin: …` (the charging service's are not under /admin/).
      const access: Access = open ? (path.includes('/payments/callback/') ? 'provider' : 'public') : op.tags[0]?.startsWith('admin') ? 'admin' : 'member';
      ops.push({
        method: method.toUpperCase(),
        path,
        access,
        params: op.parameters ?? [],
        // A raw body (a report's photo) has no JSON schema: the fuzzer sends it JSON and garbage, which it refuses 415.
        ...(op.requestBody?.content['application/json'] ? { body: op.requestBody.content['application/json'].schema } : {}),
      });
    }
  }
  return ops;
}

/** Percent-encodes every byte but the unreserved ones; a lone surrogate goes as U+FFFD (encodeURIComponent throws). */
const encode = (text: string) =>
  [...Buffer.from(text, 'utf8')]
    .map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');

const nest = (depth: number, leaf = '1') => JSON.parse('['.repeat(depth) + leaf + ']'.repeat(depth)) as unknown;

/** JSON values of the wrong type, size or sign for almost any field. */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    -0.5,
    1.5,
    2 ** 31,
    2 ** 53 + 2,
    -(2 ** 63),
    1e308,
    -1e308,
    5e-324,
    '',
    ' ',
    'NaN',
    'Infinity',
    '-1',
    '1.5',
    '1e400',
    '0x10',
    '١٢٣',
    'null',
    'true',
    '[]',
    '{}',
    '\u0000',
    'lone \ud800',
    '%E0%A4%A',
    "' OR 1=1 --",
    'x'.repeat(5_000),
    [],
    [1, 2],
    [[[]]],
    {},
    { a: 1 },
    JSON.parse('{"__proto__": {"admin": true}}'),
    { constructor: { prototype: { admin: true } } },
  ),
  fc.constant(null).map(() => nest(2_000)),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
);

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Path segment values that are not what any route expects, some deliberately mis-encoded. */
const hostilePathSegment = fc.oneof(
  fc.constantFrom(
    '%E0%A4%A',
    '%',
    '%00',
    '%C0%AF',
    '%FF',
    '%2e%2e',
    '%2F',
    '..',
    '.',
    'null',
    'undefined',
    '-1',
    '0',
    '1.5',
    '1e400',
    'NaN',
    '__proto__',
    'constructor',
    'prototype',
    'x'.repeat(3_000),
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map(encode),
  fc.uuid().map((id) => `${id}%20`),
  fc.uuid().map((id) => `${id}x`),
  fc.uuid().map((id) => id.replace(/-/g, '')),
);

/** Query values as they go on the wire (already encoded), and whether a schema could accept them. */
const hostileQueryValues = fc.oneof(
  fc.constantFrom(
    '',
    'NaN',
    'abc',
    '-1',
    '0',
    '1.5',
    '1e400',
    '-1e400',
    '99999999999999999999',
    '0x10',
    '%E0%A4%A',
    '%',
    'null',
    'true',
    '__proto__',
    '2099-13-45T99:99:99Z',
    'x'.repeat(3_000),
  ),
  fc.string({ unit: 'binary', maxLength: 30 }).map(encode),
);

function queryValueConforms(schema: Schema, encoded: string): boolean {
  // As the services' query parser decodes: a malformed escape stays as it is.
  const value = querystring.unescape(encoded);
  if (schema.anyOf) return schema.anyOf.some((s) => queryValueConforms(s, encoded));
  if (schema.type === 'integer' || schema.type === 'number') return value.trim() !== '' && conforms(schema, Number(value));
  return conforms(schema, value);
}

/** The Authorization / Cookie forms a nobody sends: none, bogus, malformed. */
const anonymousCredential: fc.Arbitrary<Credential> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Credential>({ form: 'none' }) },
  {
    weight: 5,
    arbitrary: fc
      .constantFrom<Array<[string, string]>>(
        [['authorization', 'Bearer']],
        [['authorization', 'Bearer ']],
        [['authorization', `Bearer ${newSessionKey()}`]],
        [['authorization', `Bearer ${hashSessionKey(newSessionKey())}`]],
        [['authorization', 'Bearer not-a-key']],
        [['authorization', `Bearer ${'k'.repeat(6_000)}`]],
        [['authorization', 'Basic YWRtaW46ZXZzaGFyZS1hZG1pbg==']],
        [['authorization', 'Token abc']],
        [['authorization', 'Digest username="admin"']],
        [
          ['authorization', 'Bearer a'],
          ['authorization', 'Bearer b'],
        ],
        [['cookie', 'evs_session=%E0%A4%A']],
        [['cookie', 'evs_session=%']],
        [['cookie', 'evs_session=%ZZ']],
        [['cookie', 'evs_session=']],
        [['cookie', 'evs_session']],
        [['cookie', '=evs_session']],
        [['cookie', `evs_session=${newSessionKey()}`]],
        [['cookie', 'evs_session=a; evs_session=b']],
        [
          ['cookie', 'evs_session=a'],
          ['cookie', 'evs_session=%E0%A4%A'],
        ],
        [['cookie', `evs_session=${'c'.repeat(7_000)}`]],
        [['cookie', Array.from({ length: 300 }, (_, i) => `c${i}=v`).join('; ')]],
        [['cookie', ';;;;=;=;==']],
        [['cookie', 'EVS_SESSION=x; Evs_Session=y']],
      )
      .map((headers) => ({ form: 'raw' as const, headers })),
  },
);

const sessionCredential: fc.Arbitrary<Credential> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Credential>({ form: 'bearer' }) },
  { weight: 2, arbitrary: fc.constant<Credential>({ form: 'cookie' }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Credential>(
      { form: 'bearer-lowercase' },
      { form: 'bearer-padded' },
      { form: 'cookie-after-bogus' },
      { form: 'bogus-bearer-and-cookie' },
      { form: 'both' },
    ),
  },
);

/** Other headers a hostile client sends along. */
const extraHeaders: fc.Arbitrary<Array<[string, string]>> = fc.array(
  fc.oneof(
    fc.constantFrom<[string, string]>(
      ['x-forwarded-for', '127.0.0.1'],
      ['x-forwarded-for', 'not-an-address, ::1, 999.1.1.1'],
      ['x-real-ip', '127.0.0.1'],
      ['forwarded', 'for=127.0.0.1;proto=https'],
      ['x-request-id', 'x'.repeat(500)],
      ['x-request-id', '../\u00ff'],
      ['x-http-method-override', 'DELETE'],
      ['accept', 'text/html'],
      ['accept', '*/*;q=abc'],
      ['accept-encoding', 'gzip, br, identity;q=0'],
      ['if-none-match', '"x"'],
      ['if-none-match', '*'],
      ['range', 'bytes=0-1'],
      ['origin', 'https://evil.example'],
      ['expect', '100-continue'],
      ['x-app-instance', 'app-1'],
      ['x-session-member-id', '00000000-0000-0000-0000-000000000000'],
      ['x-oversized', 'v'.repeat(8_000)],
    ),
    fc.tuple(
      fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
      fc.string({ maxLength: 50 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
    ),
  ),
  { maxLength: 3 },
);

const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/xml',
  'application/merge-patch+json',
  'APPLICATION/JSON',
  '',
];

interface World {
  ids: string[];
  targetThings: string[];
}

/** A body for the operation: within the rules (hostile values), one field broken, or raw bytes. */
function bodyFor(
  op: Op,
  ids: fc.Arbitrary<string>,
  h: number,
): fc.Arbitrary<{ body?: string | Buffer; contentType?: string; violation?: string; onlyViolation: boolean; parsed?: unknown }> {
  const schema = op.body;
  const json = (value: unknown, violation?: string) => ({
    body: JSON.stringify(value),
    contentType: 'application/json',
    violation,
    onlyViolation: true,
    parsed: value,
  });
  const none = fc.constant({ onlyViolation: true });
  const garbage = fc.oneof(
    fc.constant({ body: '', contentType: 'application/json', onlyViolation: false }),
    fc.constant({ body: '{"a": ', contentType: 'application/json', onlyViolation: false }),
    fc.constant({ body: 'null', contentType: 'application/json', onlyViolation: false }),
    fc.constant({ body: JSON.stringify({ pad: 'x'.repeat(70_000) }), contentType: 'application/json', onlyViolation: false }),
    fc.constant({ body: '['.repeat(30_000) + ']'.repeat(30_000), contentType: 'application/json', onlyViolation: false }),
    fc.constant({
      body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
      contentType: 'application/json',
      onlyViolation: false,
    }),
    fc
      .tuple(fc.constantFrom(...CONTENT_TYPES), fc.constantFrom('a=1&b=2', '{"a":1}', '<a/>'))
      .map(([contentType, body]) => ({ body, contentType, onlyViolation: false })),
  );
  if (!schema)
    return fc.oneof(
      { weight: 4, arbitrary: none },
      { weight: h, arbitrary: garbage },
      { weight: h, arbitrary: hostileJson.map((v) => ({ ...json(v), onlyViolation: false })) },
    );

  const valid = (hostile: boolean) => conformingValue(schema, { hostile, ids }) as fc.Arbitrary<Record<string, unknown>>;
  const properties = Object.keys(schema.properties ?? {});
  const mutations: Array<fc.Arbitrary<ReturnType<typeof json>>> = [
    // The whole body of the wrong kind.
    hostileJson.map((v) => json(v, conforms(schema, v) ? undefined : 'body')),
    // An extra key, a prototype-pollution key among them.
    fc.tuple(valid(false), fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ minLength: 1, maxLength: 12 })), hostileJson).map(([base, key, value]) => {
      // Replaced by functions: a generated key like `$'` must not be read as a replacement pattern.
      const raw = JSON.stringify(base)
        .replace(/^\{/, () => `{${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'},`)
        .replace(/,\}$/, '}');
      const parsed = JSON.parse(raw) as unknown;
      return { ...json(parsed, conforms(schema, parsed) ? undefined : 'body'), body: raw };
    }),
  ];
  if (properties.length) {
    const field = fc.constantFrom(...properties);
    // One field replaced by a value of the wrong type, size or sign.
    mutations.push(
      fc.tuple(valid(false), field, hostileJson).map(([base, name, value]) => {
        const body = { ...base, [name]: value };
        return json(body, conforms(schema, body) ? undefined : `body.${name}`);
      }),
    );
    // A required field left out.
    if (schema.required?.length) {
      mutations.push(
        fc.tuple(valid(false), fc.constantFrom(...schema.required)).map(([base, name]) => {
          const { [name]: _dropped, ...body } = base;
          return json(body, conforms(schema, body) ? undefined : `body.${name}`);
        }),
      );
    }
    // A duplicate key: JSON.parse keeps the last, the hostile one.
    mutations.push(
      fc.tuple(valid(false), field, hostileJson).map(([base, name, value]) => {
        const raw = JSON.stringify(base).replace(
          /\}$/,
          () => `${Object.keys(base).length ? ',' : ''}${JSON.stringify(name)}:${JSON.stringify(value) ?? 'null'}}`,
        );
        const parsed = JSON.parse(raw) as unknown;
        return { ...json(parsed, conforms(schema, parsed) ? undefined : `body.${name}`), body: raw };
      }),
    );
  }
  return fc.oneof(
    // Within the rules, hostile values: the domain logic is reached.
    { weight: 5, arbitrary: valid(true).map((v) => json(v)) },
    { weight: 6 * h, arbitrary: fc.oneof(...mutations) },
    { weight: 2 * h, arbitrary: garbage },
  );
}

/**
 * Every request an attacker could make of one operation; with `valid`, only requests within the
 * document's rules from the role the operation is for (hostile values, the right shape), so that
 * every case reaches the domain logic.
 */
function caseFor(op: Op, world: World, valid = false): fc.Arbitrary<Case> {
  // The weight of everything outside the rules.
  const h = valid ? 0 : 1;
  const ownerRole: Role = op.access === 'admin' ? 'operator' : op.access === 'member' ? 'member' : 'nobody';
  const role = fc.oneof({ weight: 7, arbitrary: fc.constant(ownerRole) }, { weight: 3 * h, arbitrary: fc.constantFrom<Role>('nobody', 'member', 'operator') });
  const ids = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...world.ids) },
    { weight: 1, arbitrary: fc.uuid({ version: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff') },
  );

  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const headerParams = op.params.filter((p) => p.in === 'header');

  const pathValue = (p: Param) =>
    p.name === 'provider'
      ? fc.constantFrom('hosted', 'dev', 'alipay', 'HOSTED')
      : fc.oneof(
          { weight: 5, arbitrary: (conformingValue(p.schema, { hostile: false, ids }) as fc.Arbitrary<string>).map((v) => ({ raw: encode(v), ok: true })) },
          { weight: 2 * h, arbitrary: hostilePathSegment.map((raw) => ({ raw, ok: false })) },
        );
  const path = fc.tuple(...pathParams.map((p) => pathValue(p).map((v) => (typeof v === 'string' ? { raw: v, ok: true } : v)))).map((values) => {
    let url = op.path;
    let violation: string | undefined;
    values.forEach((v, i) => {
      const p = pathParams[i]!;
      url = url.replace(`{${p.name}}`, v.raw);
      let decoded: string | undefined;
      try {
        decoded = decodeURIComponent(v.raw);
      } catch {
        decoded = undefined;
      }
      // A dot segment or an encoded slash may lead to another route: no violation of this one.
      const reroutes = decoded === undefined || /^\.{1,2}$/.test(decoded) || decoded.includes('/');
      if (!v.ok && !reroutes && !conforms(p.schema, decoded)) violation ??= `path.${p.name}`;
    });
    return { url, violation, ok: values.every((v) => v.ok) };
  });

  const queryEntry = (p: Param) =>
    fc.oneof(
      {
        weight: 4,
        arbitrary: conformingValue(p.schema, { hostile: true, ids }).map((v) => ({
          pairs: [`${p.name}=${encode(String(v))}`],
          violation: undefined as string | undefined,
        })),
      },
      { weight: p.required ? 0 : 2, arbitrary: fc.constant({ pairs: [] as string[], violation: undefined as string | undefined }) },
      {
        weight: 2 * h,
        arbitrary: hostileQueryValues.map((raw) => ({
          pairs: [`${p.name}=${raw}`],
          violation: queryValueConforms(p.schema, raw) ? undefined : `query.${p.name}`,
        })),
      },
      { weight: h, arbitrary: fc.constant({ pairs: [`${p.name}=a`, `${p.name}=b`], violation: `query.${p.name}` as string | undefined }) },
      { weight: h, arbitrary: fc.constant({ pairs: [`${p.name}[x]=1`], violation: undefined as string | undefined }) },
    );
  const extraQuery = fc.array(
    fc.constantFrom(
      '__proto__[admin]=1',
      'constructor[prototype][admin]=1',
      'x=%E0%A4%A',
      '%=1',
      'a[b][c][d][e][f][g]=1',
      `q=${'z'.repeat(4_000)}`,
      '&&&==',
      'limit=1&limit=2',
    ),
    { maxLength: 2 * h },
  );
  const query = fc.tuple(fc.tuple(...queryParams.map(queryEntry)), extraQuery).map(([entries, extra]) => {
    const pairs = [...entries.flatMap((e) => e.pairs), ...extra];
    const violating = entries.filter((e) => e.violation);
    // With two bad values the service may name either: such a case names no single field.
    return {
      query: pairs.length ? `?${pairs.join('&')}` : '',
      violation: violating[0]?.violation,
      several: violating.length > 1,
      ok: violating.length === 0 && extra.length === 0,
    };
  });

  const headerEntry = (p: Param) =>
    fc.oneof(
      {
        weight: 5,
        arbitrary: (conformingValue(p.schema, { hostile: false, ids }) as fc.Arbitrary<string>).map((v) => ({
          headers: [[p.name, v]] as Array<[string, string]>,
          violation: undefined as string | undefined,
        })),
      },
      {
        weight: p.required ? h : 2,
        arbitrary: fc.constant({ headers: [] as Array<[string, string]>, violation: p.required ? `header.${p.name.toLowerCase()}` : undefined }),
      },
      {
        weight: 2 * h,
        arbitrary: fc
          .constantFrom('', 'short', 'x'.repeat(300), 'bad key!', '%E0%A4%A', '../../x', 'ÿÿÿÿÿÿÿÿ')
          .map((v) => ({ headers: [[p.name, v]] as Array<[string, string]>, violation: conforms(p.schema, v) ? undefined : `header.${p.name.toLowerCase()}` })),
      },
      // Repeated, the values arrive joined by ", ".
      {
        weight: h,
        arbitrary: fc.constant({
          headers: [
            [p.name, 'key-aaaaaaaa'],
            [p.name, 'key-bbbbbbbb'],
          ] as Array<[string, string]>,
          violation: conforms(p.schema, 'key-aaaaaaaa, key-bbbbbbbb') ? undefined : `header.${p.name.toLowerCase()}`,
        }),
      },
    );
  const headers = fc.tuple(...headerParams.map(headerEntry)).map((entries) => ({
    headers: entries.flatMap((e) => e.headers),
    violation: entries.find((e) => e.violation)?.violation,
    several: entries.filter((e) => e.violation).length > 1,
    ok: entries.every((e) => !e.violation),
  }));

  return fc
    .record({
      role,
      path,
      query,
      headers,
      extra: fc.oneof({ weight: 3, arbitrary: fc.constant([] as Array<[string, string]>) }, { weight: h, arbitrary: extraHeaders }),
      body: bodyFor(op, ids, h),
      from: fc.integer({ min: 0, max: 60_000 }).map((i) => `127.3.${Math.floor(i / 250)}.${(i % 250) + 1}`),
      method: fc.oneof(
        { weight: 30, arbitrary: fc.constant(op.method) },
        { weight: h, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST', 'GET') },
      ),
    })
    .chain((r) =>
      (valid
        ? fc.constant<Credential>(r.role === 'nobody' ? { form: 'none' } : { form: 'bearer' })
        : r.role === 'nobody'
          ? anonymousCredential
          : sessionCredential
      ).map((credential): Case => {
        const parts = [
          { ok: r.path.ok, violation: r.path.violation },
          { ok: r.query.ok, violation: r.query.violation },
          { ok: r.headers.ok, violation: r.headers.violation },
          { ok: r.body.onlyViolation, violation: r.body.violation },
        ];
        const violations = parts.flatMap((p) => (p.violation ? [p.violation] : []));
        const clean = parts.every((p) => p.ok || p.violation);
        let body = r.body.body;
        // The operator may publish plans only far in the future: the plan in force stays the canary's.
        if (op.path === '/api/v1/admin/pricing-plans' && op.body && r.body.parsed !== undefined && conforms(op.body, r.body.parsed)) {
          const plan = { ...(r.body.parsed as Record<string, unknown>) };
          if (typeof plan.validFrom !== 'string' || !(Date.parse(plan.validFrom) >= Date.parse('2100-01-01T00:00:00Z'))) {
            plan.validFrom = '2100-01-01T00:00:00Z';
            if ('validTo' in plan) plan.validTo = null;
          }
          body = JSON.stringify(plan);
        }
        return {
          op: `${op.method} ${op.path}`,
          method: r.method,
          url: r.path.url + r.query.query,
          as: r.role,
          credential,
          headers: [...r.headers.headers, ...r.extra],
          ...(body !== undefined ? { body } : {}),
          ...(r.body.contentType !== undefined ? { contentType: r.body.contentType } : {}),
          ...(violations[0] ? { violation: violations[0] } : {}),
          onlyViolation: violations.length === 1 && !r.query.several && !r.headers.several && clean && r.method === op.method,
          othersThing: r.role === 'member' && op.access === 'member' && world.targetThings.some((id) => r.path.url.includes(id)),
          from: r.from,
        };
      }),
    );
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One raw request: repeated headers stay repeated, the body goes out byte for byte. */
function send(base: string, c: { method: string; url: string; headers: Array<[string, string]>; body?: string | Buffer; from: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = new URL(`${base}${c.url}`);
    // Node adds no Host header when the headers are given as a list.
    const raw: string[] = ['host', target.host];
    for (const [name, value] of c.headers) raw.push(name, value);
    const req = http.request(`${base}${c.url}`, { method: c.method, headers: raw, localAddress: c.from, agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms (a hang)`)));
    req.on('error', reject);
    req.end(c.body);
  });
}

function credentialHeaders(credential: Credential, key: string | undefined): Array<[string, string]> {
  switch (credential.form) {
    case 'none':
      return [];
    case 'raw':
      return credential.headers;
    case 'bearer':
      return [['authorization', `Bearer ${key}`]];
    case 'cookie':
      return [['cookie', `theme=dark; evs_session=${key}`]];
    case 'bearer-lowercase':
      return [['authorization', `bearer ${key}`]];
    case 'bearer-padded':
      return [['authorization', `Bearer   ${key}   `]];
    case 'cookie-after-bogus':
      return [['cookie', `evs_session=${newSessionKey()}; evs_session=${key}`]];
    case 'bogus-bearer-and-cookie':
      return [
        ['authorization', `Bearer ${newSessionKey()}`],
        ['cookie', `evs_session=${key}`],
      ];
    case 'both':
      return [
        ['authorization', `Bearer ${key}`],
        ['cookie', `evs_session=${key}`],
      ];
  }
}

/** What must hold for every answer to every case; returns the reason it does not. */
function judge(c: Case, answer: Answer): string | undefined {
  if (answer.status >= 500) return `a ${answer.status} for client input: ${answer.body.slice(0, 300)}`;
  if (answer.status >= 200 && answer.status < 300 && c.violation && c.method === c.op.split(' ')[0])
    return `accepted (${answer.status}) although ${c.violation} breaks the document's rules: ${answer.body.slice(0, 200)}`;
  if (answer.status >= 200 && answer.status < 300 && c.othersThing) return `served another member's resource (${answer.status}): ${answer.body.slice(0, 200)}`;
  if (answer.status < 400) return undefined;
  if (c.method === 'HEAD') return undefined;
  if (!/^application\/problem\+json/.test(String(answer.headers['content-type'])))
    return `a ${answer.status} as ${answer.headers['content-type']}, not problem+json: ${answer.body.slice(0, 200)}`;
  let problem: { type?: unknown; status?: unknown; title?: unknown; 'invalid-params'?: unknown };
  try {
    problem = JSON.parse(answer.body) as typeof problem;
  } catch {
    return `a problem that is not JSON: ${answer.body.slice(0, 200)}`;
  }
  if (problem.status !== answer.status) return `problem.status ${String(problem.status)} on a ${answer.status}`;
  if (typeof problem.type !== 'string' || !problem.type.startsWith('urn:evshare:problem:')) return `problem.type ${String(problem.type)}`;
  if (typeof problem.title !== 'string') return 'problem without a title';
  if (problem.type === 'urn:evshare:problem:validation') {
    const params = problem['invalid-params'];
    if (!Array.isArray(params) || params.length === 0) return 'a validation problem without invalid-params';
    const names = params.map((p: { name?: unknown; reason?: unknown }) => (typeof p.name === 'string' && typeof p.reason === 'string' ? p.name : ''));
    if (names.some((n) => !/^(body|query|path|header)\b/.test(n))) return `invalid-params with a name that says no place: ${JSON.stringify(params)}`;
    const expected = c.violation;
    if (c.onlyViolation && expected && !names.some((n) => n === expected || n.startsWith(`${expected}.`) || (expected.startsWith('body') && n === 'body'))) {
      return `the problem does not name ${expected}: ${JSON.stringify(params)}`;
    }
  }
  return undefined;
}

describe('the HTTP API under generated hostile requests', () => {
  let platform: TestPlatform;
  let gateway: string;
  let db: pg.Pool;
  let sessions: SessionStore;
  let store: ReturnType<typeof createRedisStore>;
  let fleet: Fleet | undefined;
  let ops: Op[];
  let world: World;
  let adminId: string;
  let actorId: string;
  let setupKey: string;
  const canary = { account: '', password: 'canary-password-1', stationId: '', vin: '' };
  const started = Date.now();
  let canaryRuns = 0;
  let sent = 0;
  /** Why the last failing case failed (fast-check's report shows the case, not always the reason). */
  let lastFailure = '';
  const found = new Map<string, string>();
  let canaryMs = 0;
  const keys: Partial<Record<Role, string>> = {};
  const statuses = new Map<number, number>();

  const api = async (method: string, path: string, key: string, body?: unknown, extra: Record<string, string> = {}) =>
    request(`${gateway}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...extra },
      ...(body === undefined ? {} : { body }),
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
  const created = async (reply: Promise<{ status: number; body: string; json<T>(): T }>) => {
    const r = await reply;
    if (r.status !== 201) throw new Error(`setup: expected 201, got ${r.status}: ${r.body}`);
    return r.json<{ id: string }>();
  };
  const memberSession = (memberId: string, role: 'member' | 'admin' = 'member') => sessions.create({ memberId, role, address: '127.0.0.1' }).then((s) => s.key);

  async function insertMember(name: string, phone?: string): Promise<string> {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO members (username, phone, display_name, password_hash, licence_status, deposit_fen, wallet_balance_fen)
       VALUES ($1, $2, $3, $4, 'approved', 50000, 1000000) RETURNING id`,
      [name, phone ?? null, `Fuzz ${name}`, await hashPassword(canary.password)],
    );
    return rows[0]!.id;
  }

  let canaryQueue = Promise.resolve();
  /** The canary, one at a time (racing cases may reach a batch's end together). */
  async function checkCanary(): Promise<void> {
    const run = canaryQueue.then(async () => {
      const t0 = performance.now();
      await canaryOnce();
      canaryMs += performance.now() - t0;
    });
    canaryQueue = run.catch(() => undefined);
    await run;
  }
  /** A member logs in, polls, reserves, rents, drives nowhere and returns; no process has exited. */
  async function canaryOnce(): Promise<void> {
    canaryRuns += 1;
    const key = await login(gateway, canary.account, canary.password);
    const sync = await api('GET', '/api/v1/sync', key);
    if (sync.status !== 200) throw new Error(`canary: sync ${sync.status} ${sync.body}`);
    const { rows } = await db.query<{ id: string }>('SELECT id FROM vehicles WHERE vin = $1', [canary.vin]);
    const reservation = await created(api('POST', '/api/v1/reservations', key, { vehicleId: rows[0]!.id }));
    const rental = await created(api('POST', '/api/v1/rentals', key, { reservationId: reservation.id }));
    const car = fleet!.car(canary.vin);
    car.endTrip();
    car.sendTelemetry();
    await eventually(
      async () => {
        const returned = await api('POST', `/api/v1/rentals/${rental.id}/return`, key, { stationId: canary.stationId });
        if (returned.status !== 200) throw new Error(`canary: return ${returned.status} ${returned.body}`);
      },
      10_000,
      200,
    );
    if (platform.stack.process) {
      for (const name of Object.keys(platform.stack.urls())) {
        const child = platform.stack.process(name)?.child;
        if (child && (child.exitCode !== null || child.signalCode !== null))
          throw new Error(`the ${name} process exited (${child.exitCode ?? child.signalCode})`);
      }
    }
    // The actor stays able to rent: a licence it submitted is approved again.
    await api('POST', `/api/v1/admin/members/${actorId}/licence`, setupKey, { decision: 'approve' });
  }

  beforeAll(async () => {
    platform = await startTestPlatform({ mode: MODE, appInstances: 2, env: { UNLOCK_ACK_TIMEOUT_MS: '4000', DATABASE_POOL_SIZE: '10' } });
    gateway = platform.stack.gatewayUrl;
    db = new pg.Pool({ connectionString: platform.env.DATABASE_URL, max: 4 });
    store = createRedisStore({ url: TEST_REDIS_URL, keyPrefix: platform.env.REDIS_KEY_PREFIX });
    sessions = createSessionStore({ store, bus: createMemoryBus() });
    adminId = (await db.query<{ id: string }>("SELECT id FROM members WHERE username = 'admin'")).rows[0]!.id;
    setupKey = await memberSession(adminId, 'admin');

    const doc = (await request(`${gateway}/api/docs/openapi.json`)).json<Parameters<typeof opsOf>[0]>();
    ops = opsOf(doc);
    expect(ops.filter((op) => op.path.startsWith('/api/v1/charging/')).length).toBeGreaterThan(0);

    await created(
      api('POST', '/api/v1/admin/pricing-plans', setupKey, {
        name: 'Fuzz plan',
        perMinuteFen: 1,
        perKmFen: 1,
        depositFen: 10_000,
        validFrom: '2020-01-01T00:00:00Z',
      }),
    );
    // The canary's station and car: ids the fuzzer never sees.
    canary.stationId = (
      await created(
        api('POST', '/api/v1/admin/stations', setupKey, {
          name: 'Canary',
          lat: 31.2304,
          lng: 121.4737,
          geofenceRadiusM: 800,
          capacity: 5,
          returnPolicy: 'round-trip',
        }),
      )
    ).id;
    canary.vin = 'LCANARY0000000001';
    await created(
      api('POST', '/api/v1/admin/vehicles', setupKey, {
        vin: canary.vin,
        plate: '沪A·CANRY',
        model: 'Canary EV',
        batteryKwh: 50,
        ratedRangeKm: 400,
        homeStationId: canary.stationId,
      }),
    );
    fleet = await startVehicleFleet({
      brokerUrl: platform.stack.mqttUrl!,
      credentials: await provisionVehicleCredentials(db, [canary.vin]),
      seed: 1,
      telemetryParkedMs: 300,
      telemetryDrivingMs: 200,
    });
    await eventually(
      async () => {
        const { rows } = await db.query<{ online: boolean }>('SELECT online FROM vehicles WHERE vin = $1', [canary.vin]);
        expect(rows[0]?.online).toBe(true);
      },
      15_000,
      100,
    );
    canary.account = 'canary.member';
    await insertMember(canary.account);

    // The fuzzer's own world.
    actorId = await insertMember('fuzz.actor', '13900000001');
    const targetId = await insertMember('fuzz.target', '13900000002');
    const station = (
      await created(
        api('POST', '/api/v1/admin/stations', setupKey, { name: 'Fuzz', lat: 31.3, lng: 121.5, geofenceRadiusM: 150, capacity: 4, returnPolicy: 'open' }),
      )
    ).id;
    const carA = (
      await created(
        api('POST', '/api/v1/admin/vehicles', setupKey, {
          vin: 'LFUZZ000000000001',
          plate: '沪A·FUZZ1',
          model: 'Fuzz EV',
          batteryKwh: 50,
          ratedRangeKm: 400,
          homeStationId: station,
        }),
      )
    ).id;
    const carB = (
      await created(
        api('POST', '/api/v1/admin/vehicles', setupKey, {
          vin: 'LFUZZ000000000002',
          plate: '沪A·FUZZ2',
          model: 'Fuzz EV',
          batteryKwh: 50,
          ratedRangeKm: 400,
          homeStationId: station,
        }),
      )
    ).id;
    const targetKey = await memberSession(targetId);
    const targetReservation = (await created(api('POST', '/api/v1/reservations', targetKey, { vehicleId: carB }))).id;
    const targetNotification = (
      await created(api('POST', `/api/v1/admin/members/${targetId}/notifications`, setupKey, { kind: 'notice', title: 'for the target' }))
    ).id;
    const targetPayment = (
      await created(api('POST', '/api/v1/wallet/top-ups', targetKey, { amountFen: 100, provider: 'dev' }, { 'idempotency-key': 'fuzz-target-topup-1' }))
    ).id;
    const actorNotification = (
      await created(api('POST', `/api/v1/admin/members/${actorId}/notifications`, setupKey, { kind: 'notice', title: 'for the actor' }))
    ).id;
    world = {
      ids: [targetId, adminId, station, carA, carB, targetReservation, targetNotification, targetPayment, actorNotification],
      targetThings: [targetReservation, targetNotification, targetPayment],
    };
    await checkCanary();
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    sessions?.close();
    await store?.close();
    await db?.end();
    await platform?.stop();
    const total = [...casesTried.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(
      `http-api: ${total} cases (${sent} requests) in ${((Date.now() - started) / 1000).toFixed(1)} s, canary ${canaryRuns} times (${(canaryMs / 1000).toFixed(1)} s); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}\n`,
    );
  });

  /** Sends the same case several times at once: racing requests must not meet as a 500. */
  async function race(c: Case, copies: number): Promise<boolean> {
    const answers = await Promise.all(Array.from({ length: copies }, () => attempt(c, true)));
    forgetEndedSession(c);
    return answers.every(Boolean);
  }

  /** Logout, login, a password change or deregistration may end the session sent: the next case gets a new one. */
  function forgetEndedSession(c: Case): void {
    if (c.as !== 'nobody' && c.url.startsWith('/api/v1/auth/')) delete keys[c.as];
  }

  /** Sends one case as its role (the actor or the operator, a session made in the store) and judges it. */
  async function attempt(c: Case, concurrent = false): Promise<boolean> {
    const key =
      c.as === 'nobody' ? undefined : (keys[c.as] ??= await memberSession(c.as === 'operator' ? adminId : actorId, c.as === 'operator' ? 'admin' : 'member'));
    if (!concurrent) forgetEndedSession(c);
    const headers: Array<[string, string]> = [...credentialHeaders(c.credential, key), ...c.headers];
    if (c.contentType !== undefined && c.body !== undefined) headers.push(['content-type', c.contentType]);
    const n = ++sent;
    let answer: Answer;
    try {
      answer = await send(gateway, { method: c.method, url: c.url, headers, body: c.body, from: c.from });
    } catch (error) {
      lastFailure = `${c.method} ${c.url.slice(0, 200)} as ${c.as} (${c.op}): ${(error as Error).message}`;
      throw error;
    }
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    const wrong = judge(c, answer);
    if (wrong && KEEP_GOING) {
      const k = `${c.op} ${wrong.slice(0, 60)}`;
      if (!found.has(k))
        found.set(
          k,
          `${c.method} ${c.url.slice(0, 200)} as ${c.as} body=${String(c.body).slice(0, 300)} ct=${c.contentType} hdr=${JSON.stringify(c.headers).slice(0, 200)} cred=${JSON.stringify(c.credential).slice(0, 100)}: ${wrong}`,
        );
      return true;
    }
    if (wrong) {
      lastFailure = `${c.method} ${c.url.slice(0, 200)} as ${c.as} (${c.op}): ${wrong}`;
      throw new Error(lastFailure);
    }
    if (n % BATCH === 0) {
      try {
        await checkCanary();
      } catch (error) {
        lastFailure = `the canary after request ${sent}: ${(error as Error).message}`;
        throw error;
      }
    }
    return true;
  }

  it(
    'every operation: no 5xx, no hang, a precise problem for bad input, nobody else’s data, and the canary still rents',
    async () => {
      const perOp = new Map(ops.map((op) => [op, caseFor(op, world)]));
      const arbitrary = fc.constantFrom(...ops).chain((op) => perOp.get(op)!);
      await checkProperty('http-api: operations', 800, arbitrary, (c) => attempt(c)).catch((error: Error) => {
        throw new Error(`${error.message}\nLast failure: ${lastFailure}`);
      });
      await checkCanary();
      expect([...found.values()]).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'every operation, within the rules but with hostile values: no 5xx, nobody else’s data, and the canary still rents',
    async () => {
      const perOp = new Map(ops.map((op) => [op, caseFor(op, world, true)]));
      const arbitrary = fc.constantFrom(...ops).chain((op) => perOp.get(op)!);
      await checkProperty('http-api: valid shapes, hostile values', 500, arbitrary, (c) => attempt(c)).catch((error: Error) => {
        throw new Error(`${error.message}\nLast failure: ${lastFailure}`);
      });
      await checkCanary();
      expect([...found.values()]).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'the same request within the rules, several at once: no 5xx from a race, and the canary still rents',
    async () => {
      const perOp = new Map(ops.map((op) => [op, caseFor(op, world, true)]));
      const arbitrary = fc.constantFrom(...ops).chain((op) => perOp.get(op)!);
      await checkProperty('http-api: racing duplicates', 150, arbitrary, fc.integer({ min: 2, max: 5 }), race).catch((error: Error) => {
        throw new Error(`${error.message}\nLast failure: ${lastFailure}`);
      });
      await checkCanary();
      expect([...found.values()]).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
