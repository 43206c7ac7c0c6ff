import { createHash, createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, createPool, TEST_DATABASE_URL, uniqueName, type Pool } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { blobStoreFromConfig, postgresBlobStore, s3BlobStore, type BlobStore } from '.';

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** What every adapter must do, run against each. */
async function roundTrips(store: BlobStore, prefix: string): Promise<void> {
  const key = `${prefix}/photo-1`;
  expect(await store.get(key)).toBeUndefined();
  await store.put(key, { contentType: 'image/jpeg', data: ALL_BYTES });
  expect(await store.get(key)).toEqual({ contentType: 'image/jpeg', size: 256, data: ALL_BYTES });
  const larger = randomBytes(300_000);
  await store.put(key, { contentType: 'image/png', data: larger });
  const replaced = await store.get(key);
  expect(replaced?.contentType).toBe('image/png');
  expect(replaced?.data.equals(larger)).toBe(true);
  await store.delete(key);
  expect(await store.get(key)).toBeUndefined();
  // Deleting what is not there is no error: a refused upload's clean-up may run twice.
  await store.delete(key);
}

describe('PostgreSQL blob store (real PostgreSQL)', () => {
  const name = uniqueName('evs_blob_');
  let db: Pool;
  beforeAll(async () => {
    const admin = createPool(TEST_DATABASE_URL, { max: 1 });
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${name}`;
    db = createPool(url.toString(), { max: 2 });
    await migrateDatabase(db, createLogger('blob-test', 'silent'));
  });
  afterAll(async () => {
    await db.end();
    const admin = createPool(TEST_DATABASE_URL, { max: 1 });
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('puts, gets, replaces and deletes by key, bytes intact', async () => {
    await roundTrips(postgresBlobStore(db), 'reports/a');
  });

  it('is the store when no S3 endpoint is configured', () => {
    expect(blobStoreFromConfig({ BLOB_S3_REGION: 'us-east-1' }, db).kind).toBe('postgres');
  });
});

// ---- a stand-in S3 (an outside party we cannot run here): a real HTTP server that checks every
// request's AWS Signature Version 4, independently of aws4fetch, and keeps objects in memory.

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'cn-north-1' };
const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const rfc3986 = (segment: string) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Why the request's signature is wrong, or undefined when it is right. */
function signatureProblem(req: http.IncomingMessage, body: Buffer): string | undefined {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
    req.headers.authorization ?? '',
  );
  if (!match) return 'no SigV4 authorization';
  const [, keyId, day, region, signedHeaders, signature] = match as unknown as [string, string, string, string, string, string];
  if (keyId !== CREDENTIALS.accessKeyId) return 'unknown access key';
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(day)) return 'x-amz-date does not match the credential scope';
  if (
    Math.abs(Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13)}`) - Date.now()) >
    15 * 60_000
  )
    return 'request time too skewed';
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
  if (payloadHash !== sha256(body)) return 'payload hash does not match the body';
  const names = signedHeaders.split(';');
  for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256']) if (!names.includes(required)) return `${required} is not signed`;
  const url = new URL(req.url ?? '/', 'http://store');
  const canonicalUri = decodeURIComponent(url.pathname).split('/').map(rfc3986).join('/');
  const canonicalHeaders = names
    .map(
      (name) =>
        `${name}:${String(req.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonicalRequest = [req.method, canonicalUri, '', canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${CREDENTIALS.secretAccessKey}`, day), region), 's3'), 'aws4_request');
  return hmac(signingKey, stringToSign).toString('hex') === signature ? undefined : 'signature does not match';
}

async function startFakeS3(): Promise<{ url: string; objects: Map<string, { type: string; data: Buffer }>; refusals: string[]; stop(): Promise<void> }> {
  const objects = new Map<string, { type: string; data: Buffer }>();
  const refusals: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const problem = signatureProblem(req, body);
      if (problem) {
        refusals.push(problem);
        res.writeHead(403, { 'content-type': 'application/xml' }).end(`<Error><Code>SignatureDoesNotMatch</Code><Message>${problem}</Message></Error>`);
        return;
      }
      const key = decodeURIComponent(new URL(req.url ?? '/', 'http://store').pathname);
      if (req.method === 'PUT') {
        objects.set(key, { type: String(req.headers['content-type']), data: body });
        res.writeHead(200, { etag: `"${sha256(body).slice(0, 32)}"` }).end();
      } else if (req.method === 'GET') {
        const object = objects.get(key);
        if (!object) res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
        else res.writeHead(200, { 'content-type': object.type, 'content-length': object.data.length }).end(object.data);
      } else if (req.method === 'DELETE') {
        objects.delete(key);
        res.writeHead(204).end();
      } else res.writeHead(405).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, objects, refusals, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('S3 blob store (against a real HTTP server checking SigV4)', () => {
  let s3: Awaited<ReturnType<typeof startFakeS3>>;
  beforeAll(async () => {
    s3 = await startFakeS3();
  });
  afterAll(() => s3.stop());

  it('puts, gets, replaces and deletes signed objects path-style in the bucket', async () => {
    await roundTrips(s3BlobStore({ endpoint: s3.url, bucket: 'evshare-photos', ...CREDENTIALS }), 'reports/b');
    expect(s3.refusals).toEqual([]);
    await s3BlobStore({ endpoint: `${s3.url}/`, bucket: 'evshare-photos', ...CREDENTIALS }).put('reports/c/1', { contentType: 'image/webp', data: ALL_BYTES });
    expect([...s3.objects.keys()]).toEqual(['/evshare-photos/reports/c/1']);
  });

  it('signs keys that need encoding', async () => {
    const store = s3BlobStore({ endpoint: s3.url, bucket: 'evshare-photos', ...CREDENTIALS });
    await store.put('reports/a b/照片(1)!.jpg', { contentType: 'image/jpeg', data: ALL_BYTES });
    expect((await store.get('reports/a b/照片(1)!.jpg'))?.data.equals(ALL_BYTES)).toBe(true);
    expect(s3.refusals).toEqual([]);
  });

  it('fails loudly when the store refuses the signature (a wrong secret)', async () => {
    const store = s3BlobStore({ endpoint: s3.url, bucket: 'evshare-photos', ...CREDENTIALS, secretAccessKey: 'wrong' });
    await expect(store.put('reports/d/1', { contentType: 'image/jpeg', data: ALL_BYTES })).rejects.toThrow(
      /blob store put reports\/d\/1: 403 .*signature does not match/,
    );
    await expect(store.get('reports/d/1')).rejects.toThrow(/403/);
    expect(s3.objects.has('/evshare-photos/reports/d/1')).toBe(false);
  });

  it('is the store when an endpoint is configured', () => {
    const config = { BLOB_S3_ENDPOINT: s3.url, BLOB_S3_BUCKET: 'b', BLOB_S3_ACCESS_KEY_ID: 'k', BLOB_S3_SECRET_ACCESS_KEY: 's', BLOB_S3_REGION: 'us-east-1' };
    expect(blobStoreFromConfig(config, undefined as unknown as Pool).kind).toBe('s3');
  });
});
