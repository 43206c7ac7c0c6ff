import type { Pool } from '@evshare/kit';
import { postgresBlobStore } from './postgres';
import { s3BlobStore } from './s3';
import type { BlobStore } from './store';

export type { BlobStore, StoredBlob } from './store';
export { postgresBlobStore } from './postgres';
export { s3BlobStore, type S3Settings } from './s3';

export interface BlobConfig {
  BLOB_S3_ENDPOINT?: string | undefined;
  BLOB_S3_BUCKET?: string | undefined;
  BLOB_S3_ACCESS_KEY_ID?: string | undefined;
  BLOB_S3_SECRET_ACCESS_KEY?: string | undefined;
  BLOB_S3_REGION: string;
}

/** S3 when an endpoint is configured (the configuration schema requires the rest with it), else PostgreSQL. */
export function blobStoreFromConfig(config: BlobConfig, db: Pool): BlobStore {
  if (!config.BLOB_S3_ENDPOINT) return postgresBlobStore(db);
  return s3BlobStore({
    endpoint: config.BLOB_S3_ENDPOINT,
    bucket: config.BLOB_S3_BUCKET!,
    accessKeyId: config.BLOB_S3_ACCESS_KEY_ID!,
    secretAccessKey: config.BLOB_S3_SECRET_ACCESS_KEY!,
    region: config.BLOB_S3_REGION,
  });
}
