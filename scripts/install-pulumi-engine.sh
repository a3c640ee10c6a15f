#!/usr/bin/env bash
# Builds Pulumi's real engine for kubepin's engine tests from Go modules, into a cache outside the
# repo (nothing from upstream is committed):
#
#   pulumi                      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi (the CLI and engine)
#   pulumi-language-nodejs      kubepin's Node.js language host (scripts/engine/language-nodejs),
#                               because the Go module proxy serves no version of
#                               github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
#   pulumi-resource-kubernetes  github.com/pulumi/pulumi-kubernetes/provider/v4
#   helm                        helm.sh/helm/v3/cmd/helm (cdk8s's Helm construct runs it)
#   kustomize                   sigs.k8s.io/kustomize/kustomize/v5 (`kubepin lock` expands
#                               kustomize.v2.Directory with it under mocks)
#
# Contract: the binaries end in ${KUBEPIN_ENGINE_HOME:-$HOME/.cache/kubepin-engine}/bin, and the
# last line this script prints on stdout is that directory. Progress goes to stderr.
# Idempotent: a piece whose stamp (its pinned versions and recipe) matches is not rebuilt, so a
# warm run starts no Go command. Concurrent runs wait on one lock. Exit 1 when a piece failed
# (the others are still built); the message names the piece, its log, and how to retry.
#
# Environment: KUBEPIN_ENGINE_HOME (cache dir), KUBEPIN_ENGINE_ONLY="pulumi helm" (a subset),
# KUBEPIN_ENGINE_REBUILD=1 (ignore stamps). GOMODCACHE/GOCACHE are Go's own, kept between runs.
set -euo pipefail

# ---- pinned versions --------------------------------------------------------------------------
# The engine of the @pulumi/pulumi we test with (package-lock.json); a test checks they agree.
PULUMI_VERSION=3.248.0
# The provider's code: the only pulumi-kubernetes provider/v4 commit the Go module proxy serves,
# f47bc2d6f199, which is the release tag v4.25.0 (and sdk/v4.25.0). The Go proxy serves no commit
# of v4.34.2, the version our @pulumi/kubernetes (package-lock.json) asks the engine for; the
# binary reports that version (schema and version stamp) so the engine takes the ambient plugin
# without a version-mismatch warning.
K8S_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
K8S_PROVIDER_SOURCE_RELEASE=v4.25.0
K8S_SDK_GO_VERSION=v4.25.0
K8S_PROVIDER_REPORTED_VERSION=4.34.2
HELM_VERSION=v3.21.4
# The newest kustomize whose kustomize/api builds with this machine's Go 1.26 (v5.8.3's needs a newer Go).
KUSTOMIZE_VERSION=v5.8.1

REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
ENGINE_HOME="${KUBEPIN_ENGINE_HOME:-$HOME/.cache/kubepin-engine}"
BIN="$ENGINE_HOME/bin"
SRC="$ENGINE_HOME/src"
STAMPS="$ENGINE_HOME/stamps"
LOGS="$ENGINE_HOME/logs"
ONLY=" ${KUBEPIN_ENGINE_ONLY:-pulumi language-nodejs kubernetes helm kustomize} "

log() { echo "install-pulumi-engine: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "no 'go' on PATH: the engine is built from Go modules (Go 1.26 and the Go module proxy)."
  log "Install Go, then run: bash scripts/install-pulumi-engine.sh"
  echo "$BIN"
  exit 1
fi

mkdir -p "$BIN" "$SRC" "$STAMPS" "$LOGS"
exec 9>"$ENGINE_HOME/.lock"
if ! flock -n 9; then
  log "another build holds $ENGINE_HOME/.lock; waiting for it (at most 60 min)"
  flock -w 3600 9 || { log "timed out waiting for $ENGINE_HOME/.lock"; echo "$BIN"; exit 1; }
fi

export GOFLAGS=-mod=mod GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
export GOPROXY="${GOPROXY:-$(go env GOPROXY)}"
NICE=(nice -n 10)
failed=()

# recipe NAME STRING: the stamp for a piece; up_to_date NAME STRING BINARY
up_to_date() {
  [ "${KUBEPIN_ENGINE_REBUILD:-}" != "1" ] && [ -x "$BIN/$3" ] && [ -f "$STAMPS/$1" ] &&
    [ "$(cat "$STAMPS/$1")" = "$2" ]
}

# run_piece NAME RECIPE BINARY FUNCTION: builds one piece unless its stamp matches.
run_piece() {
  local name=$1 recipe=$2 binary=$3 fn=$4 start
  case "$ONLY" in *" $name "*) ;; *) return 0 ;; esac
  if up_to_date "$name" "$recipe" "$binary"; then
    log "$binary: up to date ($recipe)"
    return 0
  fi
  log "$binary: building ($recipe); log: $LOGS/$name.log"
  start=$(date +%s)
  if (set -euo pipefail; "$fn") >"$LOGS/$name.log" 2>&1; then
    echo "$recipe" >"$STAMPS/$name"
    log "$binary: built in $(( $(date +%s) - start ))s"
  else
    rm -f "$STAMPS/$name"
    log "$binary: FAILED after $(( $(date +%s) - start ))s. Last lines of $LOGS/$name.log:"
    tail -n 25 "$LOGS/$name.log" | sed 's/^/    /' >&2
    log "retry: KUBEPIN_ENGINE_ONLY=$name bash scripts/install-pulumi-engine.sh"
    failed+=("$binary")
  fi
}

# ---- the pulumi CLI and the language host: one wrapper module -----------------------------------
# pkg/v3's go.mod replaces sdk/v3 with ../sdk, so `go install …@version` refuses it. The wrapper
# requires pkg/v3 and sdk/v3 at the same version and repeats pkg's versioned replace lines.
WRAP="$SRC/pulumi-$PULUMI_VERSION"
LANG_SRC="$REPO_DIR/scripts/engine/language-nodejs"
lang_hash() { cat "$LANG_SRC"/*.go | sha256sum | cut -c1-12; }

prepare_wrapper() {
  [ -f "$WRAP/.ready" ] && return 0
  rm -rf "$WRAP" && mkdir -p "$WRAP"
  go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" >"$WRAP/pkg.json"
  local pkgmod
  pkgmod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' "$WRAP/pkg.json")
  {
    echo "module kubepin.local/pulumi-engine"
    echo
    echo "go 1.25.11"
    echo
    echo "require ("
    echo "	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION"
    echo "	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION"
    echo ")"
    echo
    # pkg's replace lines whose target is a module version (not a relative path).
    grep -E '^replace .* => [^.][^ ]* v[0-9]' "$pkgmod" || true
  } >"$WRAP/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$WRAP/tools.go"
  (cd "$WRAP" && go mod tidy)
  touch "$WRAP/.ready"
}

build_pulumi() {
  prepare_wrapper
  cd "$WRAP"
  "${NICE[@]}" go build -trimpath -o "$BIN/pulumi" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  "$BIN/pulumi" version
}

build_language_nodejs() {
  prepare_wrapper
  rm -rf "$WRAP/language-nodejs" && mkdir -p "$WRAP/language-nodejs"
  cp "$LANG_SRC"/*.go "$WRAP/language-nodejs/"
  cd "$WRAP"
  go mod tidy
  "${NICE[@]}" go build -trimpath -o "$BIN/pulumi-language-nodejs" \
    -ldflags "-s -w -X main.version=v$PULUMI_VERSION" ./language-nodejs
}

# ---- the Kubernetes provider ----------------------------------------------------------------------
# Built in a writable copy of the module: its cmd's `go generate` writes schema-embed.json (which the
# module zip lacks) from the committed schema.json. Its go.mod replaces sdk/v4 with ../sdk; the copy
# points that at the sdk/v4 module of the same release instead.
build_kubernetes() {
  local dir="$SRC/pulumi-kubernetes-provider-$K8S_PROVIDER_MODULE_VERSION" mod
  go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_PROVIDER_MODULE_VERSION" >"$SRC/k8s.json"
  mod=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$SRC/k8s.json")
  rm -rf "$dir" && cp -r "$mod" "$dir" && chmod -R u+w "$dir"
  cd "$dir"
  go mod edit -replace "github.com/pulumi/pulumi-kubernetes/sdk/v4=github.com/pulumi/pulumi-kubernetes/sdk/v4@$K8S_SDK_GO_VERSION"
  go mod edit -toolchain=none
  go mod tidy
  (cd cmd/pulumi-resource-kubernetes && VERSION="$K8S_PROVIDER_REPORTED_VERSION" go generate ./...)
  test -s cmd/pulumi-resource-kubernetes/schema-embed.json
  "${NICE[@]}" go build -trimpath -o "$BIN/pulumi-resource-kubernetes" \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_REPORTED_VERSION" \
    ./cmd/pulumi-resource-kubernetes
}

# ---- helm ----------------------------------------------------------------------------------------
build_helm() {
  GOBIN="$BIN" "${NICE[@]}" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  "$BIN/helm" version --short
}

# ---- kustomize -----------------------------------------------------------------------------------
build_kustomize() {
  GOBIN="$BIN" "${NICE[@]}" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  "$BIN/kustomize" version
}

run_piece pulumi "pulumi v$PULUMI_VERSION" pulumi build_pulumi
run_piece language-nodejs "language-nodejs v$PULUMI_VERSION src $(lang_hash)" pulumi-language-nodejs build_language_nodejs
run_piece kubernetes "kubernetes $K8S_PROVIDER_MODULE_VERSION ($K8S_PROVIDER_SOURCE_RELEASE) as $K8S_PROVIDER_REPORTED_VERSION sdk $K8S_SDK_GO_VERSION" pulumi-resource-kubernetes build_kubernetes
run_piece helm "helm $HELM_VERSION" helm build_helm
run_piece kustomize "kustomize $KUSTOMIZE_VERSION" kustomize build_kustomize

log "disk: $(du -sh "$ENGINE_HOME" 2>/dev/null | cut -f1) in $ENGINE_HOME (Go caches: $(go env GOMODCACHE), $(go env GOCACHE))"
if [ "${#failed[@]}" -gt 0 ]; then
  log "not built: ${failed[*]}. The engine tests fail until these are built."
  echo "$BIN"
  exit 1
fi
echo "$BIN"
