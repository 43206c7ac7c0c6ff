import { op } from '../operation';
import { idParams, listOf } from '../schemas/common';
import { deviceChargeReview, reviewDecisionBody, reviewListQuery } from '../schemas/reviews';

export const reviewOperations = (limits: { adminDeductionMaxFen: number }) => ({
  reviews: op({
    method: 'get',
    path: '/api/v1/admin/reviews',
    tags: ['admin: wallet'],
    summary: 'Device-reported charges held for review (pending first, newest first)',
    description:
      'Charging sessions a pile reported beyond its rated power × elapsed time, with its meter going backwards or its clock off, and trips a car uploaded for a member not allowed on it or beyond physics or the plan. None is billed until decided.',
    access: 'operator',
    query: reviewListQuery,
    responses: { 200: { description: 'Review items', schema: listOf(deviceChargeReview) } },
  }),
  review: op({
    method: 'get',
    path: '/api/v1/admin/reviews/{id}',
    tags: ['admin: wallet'],
    summary: 'A review item',
    access: 'operator',
    params: idParams('review item'),
    responses: { 200: { description: 'The item', schema: deviceChargeReview } },
    problems: { 404: 'No such review item' },
  }),
  decide: op({
    method: 'post',
    path: '/api/v1/admin/reviews/{id}/decision',
    tags: ['admin: wallet'],
    summary: 'Decide a review item: bill the reported charge, an adjusted amount, or nothing',
    description:
      "Billed through the deduction queue under the charge's own reference (`charging:<pileId>:<transactionId>`, `trip:<tripId>`) with `requestedBy` `admin:<operatorId>`, so the charge is billed at most once.",
    access: 'operator',
    params: idParams('review item'),
    body: reviewDecisionBody(limits.adminDeductionMaxFen),
    responses: { 200: { description: 'The decided item', schema: deviceChargeReview } },
    problems: { 404: 'No such review item', 409: 'Already decided (`review-decided`)' },
  }),
});
