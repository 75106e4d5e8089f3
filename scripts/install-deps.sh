#!/usr/bin/env bash
# Installs what avatarproxy needs on Debian or Ubuntu, skipping what is there.
#   scripts/install-deps.sh run    libvips, a C toolchain and Go, to build and run
#   scripts/install-deps.sh test   the above plus what the test suite drives
#   scripts/install-deps.sh bench  the above plus the benchmark references
# Every step that fails says which step it was and why, then exits non-zero.
set -euo pipefail

fail() {
  echo "install-deps: $*" >&2
  exit 1
}
# A command that fails without a word of its own still names itself.
trap 'echo "install-deps: \`$BASH_COMMAND\` failed (exit status $?)" >&2' ERR

# bimg is cgo: without gcc and the C library headers Go silently builds with
# CGO_ENABLED=0 and bimg does not compile. curl drives the README's tour.
want=(libvips-dev pkg-config gcc libc6-dev git ca-certificates curl)
case "${1:-run}" in
run) ;;
test)
  # Real components the suite proves the proxy against.
  want+=(prometheus redis-server varnish varnish-modules chromium)
  ;;
bench)
  # References measured side by side with the proxy, and real avatars.
  want+=(nginx-light wrk libvips-tools gnome-control-center-data util-linux)
  ;;
*) fail "unknown set '$1': use run, test or bench" ;;
esac

command -v dpkg-query >/dev/null 2>&1 || fail "this script installs with apt on Debian or Ubuntu; elsewhere install: ${want[*]} and Go 1.26"

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

# The package lists are read once per run, however many installs follow.
apt_updated=
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    fail "missing packages: $*; run as root or: sudo apt-get install $*"
  fi
  echo "installing $*" >&2
  if [ -z "$apt_updated" ]; then
    apt-get update -qq || fail "apt-get update failed (see above): check the sources in /etc/apt/sources.list*"
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    fail "apt-get install $* failed (see above)"
}

missing=()
for pkg in "${want[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

# Go: the go.mod toolchain or newer. Debian's own Go is too old to build the
# proxy, but it can fetch the official toolchain through the Go module proxy,
# checked against the checksum database; it is removed again afterwards.
need_go=1.26
toolchain=go1.26.8
go_fits() {
  local v
  v=$("$1" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$need_go" "$v" | sort -V | head -n1)" = "$need_go" ]
}
if [ -x /usr/local/go/bin/go ] && go_fits /usr/local/go/bin/go; then
  exit 0
fi
if command -v go >/dev/null 2>&1 && go_fits "$(command -v go)"; then
  exit 0
fi
[ "$(id -u)" -eq 0 ] || fail "Go $need_go or newer is needed; run as root to install $toolchain into /usr/local/go, or install it from https://go.dev/dl/"

echo "installing Go $toolchain into /usr/local/go from the Go module proxy" >&2
packages() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | sed -n 's/^ii *//p' | sort; }
bootstrap_pkgs=""
if ! command -v go >/dev/null 2>&1; then
  before=$(packages)
  apt_install golang-go
  bootstrap_pkgs=$(comm -13 <(printf '%s\n' "$before") <(packages) | tr '\n' ' ')
fi
bootstrap_go=$(command -v go) || fail "no go command to fetch the toolchain with"

# Everything the download writes goes to a directory removed on exit, and
# Debian's Go goes with it when this script installed it.
work=$(mktemp -d /tmp/install-go.XXXXXX)
cleanup() {
  chmod -R u+w "$work" 2>/dev/null || true # the module cache is read-only
  rm -rf "$work"
  if [ -n "$bootstrap_pkgs" ]; then
    # shellcheck disable=SC2086 # a list of package names
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $bootstrap_pkgs >/dev/null ||
      echo "install-deps: could not remove $bootstrap_pkgs, installed only to fetch the toolchain" >&2
  fi
}
trap cleanup EXIT

module="golang.org/toolchain@v0.0.1-$toolchain.linux-$(dpkg --print-architecture)"
# go mod download -json reports a failure as JSON on stdout, with exit status 1.
if ! out=$(cd "$work" && GOFLAGS=-mod=mod GOPATH="$work/gopath" GOCACHE="$work/cache" GOTOOLCHAIN=local \
  "$bootstrap_go" mod download -json "$module" 2>&1); then
  reason=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | sed 's/\\"/"/g')
  hint=""
  case "$reason" in
  *x509*) hint=" (behind a TLS-inspecting proxy, add its CA to /usr/local/share/ca-certificates and run update-ca-certificates)" ;;
  esac
  fail "downloading $module through $("$bootstrap_go" env GOPROXY) failed: ${reason:-$out}$hint"
fi
dir=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -n "$dir" ] && [ -f "$dir/bin/go" ] || fail "go mod download gave no toolchain directory for $module:
$out"

rm -rf /usr/local/go
cp -r "$dir" /usr/local/go
chmod -R u+w /usr/local/go
# The module zip keeps no file modes: the tools need their exec bits back.
find /usr/local/go/bin /usr/local/go/pkg/tool -type f -exec chmod +x {} +
ln -sf /usr/local/go/bin/go /usr/local/bin/go
ln -sf /usr/local/go/bin/gofmt /usr/local/bin/gofmt
go_fits /usr/local/go/bin/go || fail "the installed /usr/local/go/bin/go does not run"
echo "installed $(/usr/local/go/bin/go version)" >&2
