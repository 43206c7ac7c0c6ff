import type { AppContext, DomainMount } from './context';
import { mountWallet } from './wallet';
import { mountRental } from './rental';
import { mountDocs } from './docs';
import { mountClusterAdmin } from './cluster';
import { mountReviews } from './reviews';
import { mountReports } from './reports';

/** The business domains that add their routes to the member and operator API, one entry each. */
export const DOMAINS: Array<(context: AppContext) => DomainMount> = [mountWallet, mountRental, mountClusterAdmin, mountReviews, mountReports, mountDocs];
