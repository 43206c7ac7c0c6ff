import type { Express } from 'express';
import type { AppContext } from './service';

/** The business domains that add their routes to the member and operator API, one entry each. */
export const DOMAINS: Array<(app: Express, context: AppContext) => void> = [];
