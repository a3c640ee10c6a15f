#!/usr/bin/env bash
# The Debian parts the integration tests run, checked before `npm test` (its pretest) and by
# .ci/run: an OCI registry, skopeo (oracle and benchmark), podman with runc (runs the pre-pull
# pod), a static busybox (the pre-puller's helper), openssl (test CAs) and curl.
#
# Installs what is missing when it can (root and apt-get); otherwise stops at once with the
# exact command to run, so a machine without them never gets fifty failing suites.
# KUBEPIN_SKIP_SYSTEM_DEPS=1 skips the check (for running single unit suites elsewhere);
# KUBEPIN_SYSTEM_DEPS_NO_INSTALL=1 only reports; KUBEPIN_SYSTEM_ROOT prefixes the paths checked
# (its test uses both to see the report on a machine that has everything).
set -euo pipefail

[ "${KUBEPIN_SKIP_SYSTEM_DEPS:-}" = "1" ] && exit 0

# Debian package → a file it installs that the tests use.
declare -A provides=(
  [docker-registry]=/usr/bin/docker-registry
  [skopeo]=/usr/bin/skopeo
  [podman]=/usr/bin/podman
  [runc]=/usr/bin/runc
  [busybox-static]=/bin/busybox
  [openssl]=/usr/bin/openssl
  [curl]=/usr/bin/curl
)
order=(docker-registry skopeo podman runc busybox-static openssl curl)

missing=()
for p in "${order[@]}"; do
  [ -x "${KUBEPIN_SYSTEM_ROOT:-}${provides[$p]}" ] || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "${KUBEPIN_SYSTEM_DEPS_NO_INSTALL:-}" != "1" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

{
  echo "install-system-deps: the integration tests need ${missing[*]}, which are not installed."
  if command -v apt-get >/dev/null 2>&1; then
    echo "Run as root, then npm test again:"
    echo "  sudo sh -c '$command'"
  else
    echo "This machine has no apt-get: install the equivalents of these Debian packages, which provide"
    for p in "${missing[@]}"; do echo "  $p: ${provides[$p]}"; done
  fi
  echo "(KUBEPIN_SKIP_SYSTEM_DEPS=1 skips this check, and the integration suites then fail.)"
} >&2
exit 1
