import type { Pool } from '@evshare/kit';
import type { BlobStore, StoredBlob } from './store';

/** The default blob store: a bytea table (migration 0011), so a deployment needs nothing more. */
export function postgresBlobStore(db: Pool): BlobStore {
  return {
    kind: 'postgres',
    async put(key, { contentType, data }) {
      await db.query(
        `INSERT INTO blobs (key, content_type, size_bytes, data) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET content_type = EXCLUDED.content_type, size_bytes = EXCLUDED.size_bytes, data = EXCLUDED.data, created_at = now()`,
        [key, contentType, data.length, data],
      );
    },
    async get(key) {
      const { rows } = await db.query<StoredBlob>('SELECT content_type AS "contentType", size_bytes AS size, data FROM blobs WHERE key = $1', [key]);
      return rows[0];
    },
    async delete(key) {
      await db.query('DELETE FROM blobs WHERE key = $1', [key]);
    },
  };
}
