import type { Express } from 'express';
import type { AppContext } from '../service';
import { buildOpenApiDocument } from './openapi';
import { PAGE_CSP, renderPage } from './page';

/**
 * Serves the API's OpenAPI 3.1 document and a readable page of it, public like any API
 * reference. Both are built once per instance from its configuration.
 */
export function mountDocs(app: Express, ctx: AppContext): void {
  const document = buildOpenApiDocument(ctx.config);
  const json = JSON.stringify(document);
  const page = renderPage(document);
  app.get('/api/docs/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('application/json').send(json);
  });
  app.get('/api/docs', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.type('html').send(page);
  });
}
