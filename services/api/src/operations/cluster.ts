import { op } from '../operation';
import { listOf } from '../schemas/common';
import { gatewayStatus, scalingDecision } from '../schemas/cluster';

export const clusterOperations = {
  decisions: op({
    method: 'get',
    path: '/api/v1/admin/cluster/decisions',
    tags: ['admin: cluster'],
    summary: 'The last 50 scaling decisions this instance heard, newest first',
    description: 'Published on the bus by the Kubernetes operator or the local autoscaler; each APP instance keeps those it heard since it started.',
    access: 'operator',
    responses: { 200: { description: 'The decisions', schema: listOf(scalingDecision) } },
  }),
  balancer: op({
    method: 'get',
    path: '/api/v1/admin/cluster/balancer',
    tags: ['admin: cluster'],
    summary: "Each gateway's balancer view (its /lb/status), most recently heard first",
    description:
      "The gateways serve /lb/status only on their operators' listener and publish it on the bus every 2 s; this instance keeps the last one of each gateway heard within 10 s. `status` is the gateway's /lb/status document (docs/gateway.md).",
    access: 'operator',
    responses: { 200: { description: 'The gateways heard recently', schema: listOf(gatewayStatus) } },
  }),
};
