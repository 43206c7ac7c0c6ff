import { createHash } from 'node:crypto';
import { AwsClient } from 'aws4fetch';
import type { BlobStore } from './store';

export interface S3Settings {
  /** The store's base URL (https://s3.example.com, a MinIO's http://minio:9000); objects are addressed path-style. */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Per request; a store that does not answer must not hold a member's upload forever. */
  timeoutMs?: number;
}

/** Each path segment of the key encoded, the slashes kept: the object's path below the bucket. */
const objectPath = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/** Any S3-compatible object store, every request signed with AWS Signature Version 4 (aws4fetch). */
export function s3BlobStore(settings: S3Settings): BlobStore {
  const client = new AwsClient({ accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey, region: settings.region, service: 's3' });
  const base = `${settings.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(settings.bucket)}`;
  const timeoutMs = settings.timeoutMs ?? 15_000;
  const send = (method: string, key: string, init: { body?: Buffer; headers?: Record<string, string> } = {}) =>
    client.fetch(`${base}/${objectPath(key)}`, {
      method,
      ...init,
      // The payload's hash is signed too (aws4fetch would send UNSIGNED-PAYLOAD): the store refuses altered bytes.
      headers: {
        ...init.headers,
        'x-amz-content-sha256': createHash('sha256')
          .update(init.body ?? '')
          .digest('hex'),
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
  const fail = async (what: string, response: Response) => {
    const text = (await response.text()).slice(0, 300);
    return new Error(`blob store ${what}: ${response.status} ${text}`);
  };

  return {
    kind: 's3',
    async put(key, { contentType, data }) {
      const response = await send('PUT', key, { body: data, headers: { 'content-type': contentType } });
      if (!response.ok) throw await fail(`put ${key}`, response);
      await response.arrayBuffer();
    },
    async get(key) {
      const response = await send('GET', key);
      if (response.status === 404) {
        await response.arrayBuffer();
        return undefined;
      }
      if (!response.ok) throw await fail(`get ${key}`, response);
      const data = Buffer.from(await response.arrayBuffer());
      return { contentType: response.headers.get('content-type') ?? 'application/octet-stream', size: data.length, data };
    },
    async delete(key) {
      const response = await send('DELETE', key);
      // S3 answers 204 for a key that never existed too; a 404 from another store means the same.
      if (!response.ok && response.status !== 404) throw await fail(`delete ${key}`, response);
      await response.arrayBuffer();
    },
  };
}
