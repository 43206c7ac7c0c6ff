/**
 * The third-party CRDs vendored for the chart tests (test/chart/vendor/README.md says where from):
 * Gateway API's HTTPRoute in both channels, Envoy Gateway's BackendTrafficPolicy, and the
 * Prometheus Operator's ServiceMonitor and PrometheusRule.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import type { K8sObject } from './helm';

const VENDOR = path.join(__dirname, 'vendor');

export const GATEWAY_API_VERSION = 'v1.6.1';
export const PROMETHEUS_OPERATOR_VERSION = 'v0.93.0';
export const ENVOY_GATEWAY_VERSION = 'v1.9.0';

const crd = (...parts: string[]) => load(readFileSync(path.join(VENDOR, ...parts), 'utf8')) as K8sObject;

export const httpRouteCrd = (channel: 'standard' | 'experimental') =>
  crd(`gateway-api-${GATEWAY_API_VERSION}`, channel, 'gateway.networking.k8s.io_httproutes.yaml');

export const prometheusOperatorCrds = () =>
  ['servicemonitors', 'prometheusrules'].map((plural) => crd(`prometheus-operator-${PROMETHEUS_OPERATOR_VERSION}`, `monitoring.coreos.com_${plural}.yaml`));

export const backendTrafficPolicyCrd = () => crd(`envoy-gateway-${ENVOY_GATEWAY_VERSION}`, 'gateway.envoyproxy.io_backendtrafficpolicies.yaml');
