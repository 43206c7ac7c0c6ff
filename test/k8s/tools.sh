#!/usr/bin/env bash
# Builds the real Kubernetes tooling the chart and operator tests need (kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd, helm, kwok for simulated nodes, and for the real
# one-node cluster kubelet, kube-proxy, kubectl, CoreDNS and crictl) from Go modules, since these machines
# have no Docker engine. Binaries are cached outside the repository; a second run is a no-op.
set -euo pipefail

# Go lives in /usr/local/go on these machines, on PATH only for interactive shells.
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "tools: the Go toolchain is needed to build the Kubernetes test tooling" >&2; exit 1; }

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
HELM_VERSION="${HELM_VERSION:-v3.16.4}"
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.34.0}"
TOOLS_DIR="${EVSHARE_TOOLS_DIR:-$HOME/.cache/evshare-tools}"
BIN="$TOOLS_DIR/bin"
mkdir -p "$BIN"

have() { [ -x "$BIN/$1" ] && [ -f "$BIN/.$1.$2" ]; }
mark() { touch "$BIN/.$1.$2"; }

if ! have helm "$HELM_VERSION"; then
  echo "tools: building helm $HELM_VERSION" >&2
  GOBIN="$BIN" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mark helm "$HELM_VERSION"
fi

# kwok's own go.mod has no replace directives, so a plain `go install` builds it (and stamps
# its version from the module).
if ! have kwok "$KWOK_VERSION"; then
  echo "tools: building kwok $KWOK_VERSION" >&2
  GOBIN="$BIN" go install -ldflags=-s -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mark kwok "$KWOK_VERSION"
fi

# Kubernetes binaries must also report their version: clients (helm's kubeVersion checks,
# kubectl's skew warnings) compare it, and a plain `go install` leaves v0.0.0-master.
stamped() { have "$1" "$K8S_VERSION" && [ "$("$BIN/$1" --version 2>/dev/null)" = "Kubernetes $K8S_VERSION" ]; }

# One wrapper module builds every k8s.io/kubernetes command: the control plane, etcd at the
# version Kubernetes itself requires, and the node's kubelet, kube-proxy and kubectl.
k8s_module() {
  mod="$TOOLS_DIR/k8s-$K8S_VERSION"
  mkdir -p "$mod/etcd"
  gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  minor="v0.${K8S_VERSION#v1.}"
  {
    echo "module evshare.local/k8stools"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    # k8s.io/kubernetes replaces its staging modules with local paths; point each at its release.
    grep -E '^\s+k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk -v v="$minor" '{print "replace " $1 " => " $1 " " v}'
  } > "$mod/go.mod"
  cat > "$mod/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  (cd "$mod" && go mod tidy)
}

k8s_install() {
  k8s_minor="${K8S_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
  ldflags="-s -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
  ldflags="$ldflags -X k8s.io/component-base/version.gitMinor=$k8s_minor -X k8s.io/component-base/version.gitTreeState=clean"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  (cd "$mod" && GOBIN="$BIN" go install -ldflags="$ldflags" -trimpath "$@")
}

if ! stamped kube-apiserver || ! stamped kube-controller-manager || ! stamped kube-scheduler || ! have etcd "$K8S_VERSION"; then
  echo "tools: building kube-apiserver, kube-controller-manager, kube-scheduler and etcd for $K8S_VERSION (first build is slow)" >&2
  k8s_module
  k8s_install k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler ./etcd
  mark kube-apiserver "$K8S_VERSION"; mark kube-controller-manager "$K8S_VERSION"; mark kube-scheduler "$K8S_VERSION"; mark etcd "$K8S_VERSION"
fi

# The real node (test/k8s/node.ts). kubectl prints "Client Version: ..." rather than the plain line.
if ! stamped kubelet || ! stamped kube-proxy || ! have kubectl "$K8S_VERSION"; then
  echo "tools: building kubelet, kube-proxy and kubectl for $K8S_VERSION" >&2
  [ -n "${mod:-}" ] || k8s_module
  k8s_install k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl
  mark kubelet "$K8S_VERSION"; mark kube-proxy "$K8S_VERSION"; mark kubectl "$K8S_VERSION"
fi

# CoreDNS's go.mod has no replace directives. Without cgo it is a static binary.
if ! have coredns "$COREDNS_VERSION"; then
  echo "tools: building coredns $COREDNS_VERSION" >&2
  CGO_ENABLED=0 GOBIN="$BIN" go install -ldflags=-s -trimpath "github.com/coredns/coredns@$COREDNS_VERSION"
  mark coredns "$COREDNS_VERSION"
fi

# crictl takes a real node's pods down through the CRI (network teardown included) on the way out.
if ! have crictl "$CRICTL_VERSION"; then
  echo "tools: building crictl $CRICTL_VERSION" >&2
  CGO_ENABLED=0 GOBIN="$BIN" go install -ldflags=-s -trimpath "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  mark crictl "$CRICTL_VERSION"
fi

echo "$BIN"
