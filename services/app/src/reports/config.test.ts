import { reportConfigSchema, requireCompleteBlobStore } from './config';

const schema = reportConfigSchema.superRefine(requireCompleteBlobStore);
const S3 = { BLOB_S3_ENDPOINT: 'http://minio:9000', BLOB_S3_BUCKET: 'photos', BLOB_S3_ACCESS_KEY_ID: 'key', BLOB_S3_SECRET_ACCESS_KEY: 'secret' };

describe('the report and blob store configuration', () => {
  it('defaults to PostgreSQL, a 10 minute start window, a 30 minute return window, 5 MiB and 6 photos', () => {
    expect(schema.parse({})).toEqual({
      REPORT_START_WINDOW_MS: 600_000,
      REPORT_RETURN_WINDOW_MS: 1_800_000,
      REPORT_PHOTO_MAX_BYTES: 5 * 1024 * 1024,
      REPORT_MAX_PHOTOS: 6,
      BLOB_S3_REGION: 'us-east-1',
    });
  });

  it.each([
    ['a complete S3 store', S3, []],
    ['an endpoint without a bucket', { ...S3, BLOB_S3_BUCKET: undefined }, ['BLOB_S3_BUCKET']],
    [
      'an endpoint without credentials',
      { BLOB_S3_ENDPOINT: S3.BLOB_S3_ENDPOINT, BLOB_S3_BUCKET: 'photos' },
      ['BLOB_S3_ACCESS_KEY_ID', 'BLOB_S3_SECRET_ACCESS_KEY'],
    ],
    ['credentials without an endpoint (PostgreSQL still)', { BLOB_S3_ACCESS_KEY_ID: 'key' }, []],
    ['an endpoint that is no URL', { ...S3, BLOB_S3_ENDPOINT: 'minio' }, ['BLOB_S3_ENDPOINT']],
    ['an endpoint that is not http(s)', { ...S3, BLOB_S3_ENDPOINT: 'minio:9000' }, ['BLOB_S3_ENDPOINT']],
  ])('%s', (_name, env, wrong) => {
    const result = schema.safeParse(env);
    expect(result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'))).toEqual(wrong);
  });
});
