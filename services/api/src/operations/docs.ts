import { z } from 'zod';
import { op } from '../operation';

// Like every GET, refused when its query string carries a NUL character (kit/http/app.ts).
const NUL_IN_QUERY = { 400: 'A NUL character in the query string (`validation`)' } as const;

export const docsOperations = {
  page: op({
    method: 'get',
    path: '/api/docs',
    tags: ['docs'],
    summary: 'This document as a readable page',
    access: 'public',
    responses: { 200: { description: 'HTML', mediaType: 'text/html', schema: z.string() } },
    problems: NUL_IN_QUERY,
  }),
  document: op({
    method: 'get',
    path: '/api/docs/openapi.json',
    tags: ['docs'],
    summary: 'This document (OpenAPI 3.1)',
    access: 'public',
    responses: { 200: { description: 'The OpenAPI document', schema: z.record(z.string(), z.unknown()) } },
    problems: NUL_IN_QUERY,
  }),
};
