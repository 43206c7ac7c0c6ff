/** One stored object: its bytes and what they are. */
export interface StoredBlob {
  contentType: string;
  size: number;
  data: Buffer;
}

/**
 * Where photos (and any other binary evidence) live, by key: PostgreSQL by default, an
 * S3-compatible store when configured (docs/operations.md, "Blob store"). Keys are chosen by the
 * caller and never reused; `put` on an existing key replaces it.
 */
export interface BlobStore {
  readonly kind: 'postgres' | 's3';
  put(key: string, blob: { contentType: string; data: Buffer }): Promise<void>;
  get(key: string): Promise<StoredBlob | undefined>;
  delete(key: string): Promise<void>;
}
