import { openApiDocument, route, type Route } from '@evshare/kit';
import { API_INFO, API_TAGS, apiOperations, docsOperations } from '@evshare/api';
import { apiLimits } from '../config';
import type { AppContext, DomainMount } from '../context';
import { PAGE_CSP, renderPage } from './page';

/**
 * Serves the API's OpenAPI 3.1 document and a readable page of it, public like any API
 * reference. Both are derived once per instance from the operations' declarations and its
 * configuration (providers, money limits), so they cannot drift from what the services accept.
 */
export function mountDocs(ctx: AppContext): DomainMount {
  const document = openApiDocument({ info: API_INFO, tags: API_TAGS, operations: apiOperations(apiLimits(ctx.config)) });
  const json = JSON.stringify(document);
  const page = renderPage(document);
  const routes: Route[] = [
    route(docsOperations.document, (_input, _req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.type('application/json').send(json);
    }),
    route(docsOperations.page, (_input, _req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.setHeader('Content-Security-Policy', PAGE_CSP);
      res.type('html').send(page);
    }),
  ];
  return { routes };
}
