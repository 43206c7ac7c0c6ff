import { z } from 'zod';
import { env } from '@evshare/kit';

const optionalText = z.string().min(1).optional();

/** The report domain's settings and the blob store's, part of the APP service's configuration. */
export const reportConfigSchema = z.object({
  /** A report this soon after the unlock is of the car as found (the previous renter answers for it). */
  REPORT_START_WINDOW_MS: env.durationMs(10 * 60_000),
  /** How long after the return the member may still report and add photos. */
  REPORT_RETURN_WINDOW_MS: env.durationMs(30 * 60_000),
  REPORT_PHOTO_MAX_BYTES: env.positiveInt(5 * 1024 * 1024),
  REPORT_MAX_PHOTOS: env.positiveInt(6),
  /** An S3-compatible store for photos (path-style URLs); unset: PostgreSQL keeps them. */
  BLOB_S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  BLOB_S3_BUCKET: optionalText,
  BLOB_S3_ACCESS_KEY_ID: optionalText,
  BLOB_S3_SECRET_ACCESS_KEY: optionalText,
  BLOB_S3_REGION: z.string().min(1).default('us-east-1'),
});
export type ReportConfig = z.infer<typeof reportConfigSchema>;

/** An S3 endpoint needs its bucket and credentials: a half-configured store fails the start, not an upload. */
export function requireCompleteBlobStore(config: ReportConfig, context: z.RefinementCtx): void {
  if (!config.BLOB_S3_ENDPOINT) return;
  for (const name of ['BLOB_S3_BUCKET', 'BLOB_S3_ACCESS_KEY_ID', 'BLOB_S3_SECRET_ACCESS_KEY'] as const) {
    if (!config[name]) context.addIssue({ code: 'custom', path: [name], message: 'is required with BLOB_S3_ENDPOINT' });
  }
}
