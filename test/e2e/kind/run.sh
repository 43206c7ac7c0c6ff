#!/usr/bin/env bash
# `make e2e`: the end-to-end suite against evshare on a kind cluster. Needs a Docker engine, kind,
# kubectl and helm (none of which the development machines have: see docs/operations.md).
#
#   1. create the kind cluster (test/e2e/kind/cluster.yaml), or reuse one of the same name
#   2. build the image and load it into the nodes
#   3. with the chart's default entry (INGRESS=none, default) nothing: the release's HAProxy,
#      driven by the operator, is reached on a NodePort; the legacy ingress entry installs an
#      ingress controller: ingress-nginx (INGRESS=nginx) from its official kind manifest, or
#      HAProxy Ingress (INGRESS=haproxy) from its official chart
#   4. helm install evshare in development mode with the vehicle and pile simulators, and wait
#      for the rollout and the operator
#   5. run the e2e suite (test/e2e) against the entry; its scaling test drives the load with the
#      simulated member apps (sims/member), members created through the admin API
#   6. delete the cluster if this run created it, unless KEEP_CLUSTER=1 (a cluster that was there
#      before is never deleted)
set -euo pipefail
cd "$(dirname "$0")/../../.."

CLUSTER="${KIND_CLUSTER:-evshare-e2e}"
CONTEXT="kind-$CLUSTER"
IMAGE_REPOSITORY="${EVSHARE_IMAGE_REPOSITORY:-evshare}"
IMAGE_TAG="${EVSHARE_IMAGE_TAG:-e2e}"
INGRESS="${INGRESS:-none}"
INGRESS_NGINX_VERSION="${INGRESS_NGINX_VERSION:-controller-v1.12.1}"
HAPROXY_INGRESS_CHART_VERSION="${HAPROXY_INGRESS_CHART_VERSION:-0.14.12}"
NAMESPACE=evshare
RELEASE=evshare
# The host ports cluster.yaml maps: 8480 to the ingress controller's port 80, 8481 to HAProxy's
# NodePort (HAPROXY_NODE_PORT).
HAPROXY_NODE_PORT=30480
if [ "$INGRESS" = none ]; then URL="http://127.0.0.1:8481"; else URL="http://127.0.0.1:8480"; fi
WAIT="${E2E_WAIT:-300s}"
# The suite waits 120 s for the scale-down after its load: the window must be well inside that
# (the chart's default is 120 s).
SCALE_DOWN_WINDOW="${E2E_SCALE_DOWN_WINDOW:-20}"
MAX_APP_REPLICAS="${E2E_MAX_APP_REPLICAS:-4}"

say() { printf '\ne2e: %s\n' "$*"; }
fail() { printf 'e2e: %s\n' "$*" >&2; exit 1; }
k() { kubectl --context "$CONTEXT" "$@"; }

for tool in docker kind kubectl helm node npx curl; do
  command -v "$tool" >/dev/null || fail "$tool is required"
done
docker info >/dev/null 2>&1 || fail "no Docker engine is reachable (kind runs its nodes as containers)"
case "$INGRESS" in
  none) ;;
  nginx) INGRESS_NAMESPACE=ingress-nginx; CLASS=nginx; CONTROLLER=ingress-nginx ;;
  haproxy) INGRESS_NAMESPACE=haproxy-ingress; CLASS=haproxy; CONTROLLER=haproxy ;;
  *) fail "INGRESS must be none, nginx or haproxy, not $INGRESS" ;;
esac

diagnose() {
  say "diagnostics"
  k get nodes -o wide || true
  k get pods -A -o wide || true
  k -n "$NAMESPACE" get appservicegroups,deployments,statefulsets,services,ingresses,networkpolicies || true
  k -n "$NAMESPACE" describe appservicegroups || true
  k -n "$NAMESPACE" get events --sort-by=.lastTimestamp | tail -n 60 || true
  k -n "$NAMESPACE" logs deployment/"$RELEASE"-operator --tail=100 || true
}

cleanup() {
  local status=$?
  [ "$status" -eq 0 ] || diagnose
  if [ "$CREATED" != 1 ]; then
    say "leaving cluster $CLUSTER as it was found (this run did not create it)"
  elif [ "${KEEP_CLUSTER:-0}" = 1 ]; then
    say "keeping the cluster: kubectl --context $CONTEXT -n $NAMESPACE get pods; kind delete cluster --name $CLUSTER"
  else
    say "deleting the cluster"
    kind delete cluster --name "$CLUSTER" || true
  fi
  exit "$status"
}

CREATED=0
trap cleanup EXIT
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  say "reusing kind cluster $CLUSTER"
else
  say "creating kind cluster $CLUSTER"
  CREATED=1
  kind create cluster --name "$CLUSTER" --config test/e2e/kind/cluster.yaml --wait 180s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
fi

say "building $IMAGE_REPOSITORY:$IMAGE_TAG"
docker build -t "$IMAGE_REPOSITORY:$IMAGE_TAG" .
# A second tag of the same image: the suite's `helm upgrade` to it rolls every Deployment.
docker tag "$IMAGE_REPOSITORY:$IMAGE_TAG" "$IMAGE_REPOSITORY:$IMAGE_TAG-next"
kind load docker-image "$IMAGE_REPOSITORY:$IMAGE_TAG" "$IMAGE_REPOSITORY:$IMAGE_TAG-next" --name "$CLUSTER"

# Cluster: the mapped node (the control plane) runs no HAProxy pod and forwards to the workers'.
ENTRY_VALUES=(--set entrypoint=haproxy --set haproxy.service.type=NodePort --set haproxy.service.nodePort="$HAPROXY_NODE_PORT"
  --set haproxy.service.externalTrafficPolicy=Cluster)
if [ "$INGRESS" != none ]; then
  say "installing the ingress controller ($INGRESS)"
  ENTRY_VALUES=(--set entrypoint=ingress --set ingress.className="$CLASS" --set ingress.controller="$CONTROLLER"
    --set-json "networkPolicy.ingressControllerPeers=[{\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":\"$INGRESS_NAMESPACE\"}}}]")
fi
if [ "$INGRESS" = nginx ]; then
  k apply -f "https://raw.githubusercontent.com/kubernetes/ingress-nginx/$INGRESS_NGINX_VERSION/deploy/static/provider/kind/deploy.yaml"
  k -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout="$WAIT"
  # Ingresses are refused until a job has patched the admission webhook with its CA.
  for _ in $(seq 1 60); do
    ca="$(k get validatingwebhookconfiguration ingress-nginx-admission -o jsonpath='{.webhooks[0].clientConfig.caBundle}' 2>/dev/null || true)"
    [ -n "$ca" ] && break
    sleep 2
  done
  [ -n "$ca" ] || fail "the ingress-nginx admission webhook has no CA after 120 s"
elif [ "$INGRESS" = haproxy ]; then
  helm --kube-context "$CONTEXT" upgrade --install haproxy-ingress haproxy-ingress \
    --repo https://haproxy-ingress.github.io/charts --version "$HAPROXY_INGRESS_CHART_VERSION" \
    --namespace haproxy-ingress --create-namespace \
    --set controller.kind=DaemonSet \
    --set controller.daemonset.useHostPort=true \
    --set controller.ingressClassResource.enabled=true \
    --set controller.service.type=ClusterIP \
    --set-string controller.nodeSelector.ingress-ready=true \
    --set-json 'controller.tolerations=[{"key":"node-role.kubernetes.io/control-plane","operator":"Exists","effect":"NoSchedule"}]' \
    --wait --timeout "$WAIT"
fi

say "installing evshare (development mode)"
# --wait covers the Deployments and StatefulSets; the APP group is the operator's, checked below.
helm --kube-context "$CONTEXT" upgrade --install "$RELEASE" charts/evshare \
  --namespace "$NAMESPACE" --create-namespace \
  --set mode=development \
  --set image.repository="$IMAGE_REPOSITORY" --set image.tag="$IMAGE_TAG" --set image.pullPolicy=Never \
  "${ENTRY_VALUES[@]}" \
  --set services.vehicle-sim.enabled=true --set services.pile-sim.enabled=true \
  --set appServiceGroup.maxReplicas="$MAX_APP_REPLICAS" \
  --set appServiceGroup.behavior.scaleDown.stabilizationWindowSeconds="$SCALE_DOWN_WINDOW" \
  --wait --timeout 10m

say "waiting for the operator to scale the APP group and publish its routes"
k -n "$NAMESPACE" wait appservicegroup/"$RELEASE"-app --for=condition=Ready --timeout="$WAIT"
k -n "$NAMESPACE" rollout status deployment/"$RELEASE"-app --timeout="$WAIT"
k -n "$NAMESPACE" get appservicegroups -o wide

# The APP answers an unauthenticated poll with 401 (problem+json); the controller's own 404 or
# 503 means the routes are not in place yet.
say "waiting for $URL to reach the APP group"
for _ in $(seq 1 90); do
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$URL/api/v1/sync" || true)"
  [ "$code" = 401 ] && break
  sleep 2
done
[ "$code" = 401 ] || fail "GET $URL/api/v1/sync answered $code, expected 401 from the APP service"

[ -d node_modules ] || npm ci --no-audit --no-fund
say "running the e2e suite"
EVSHARE_E2E_URL="$URL" \
EVSHARE_E2E_KUBE_CONTEXT="$CONTEXT" \
EVSHARE_E2E_NAMESPACE="$NAMESPACE" \
EVSHARE_E2E_RELEASE="$RELEASE" \
EVSHARE_E2E_ADMIN_PASSWORD="$(k -n "$NAMESPACE" get secret "$RELEASE"-secrets -o jsonpath='{.data.admin-bootstrap-password}' | base64 -d)" \
EVSHARE_E2E_MAX_APP_REPLICAS="$MAX_APP_REPLICAS" \
EVSHARE_E2E_NEXT_IMAGE_TAG="$IMAGE_TAG-next" \
  npx jest --selectProjects integration test/e2e
