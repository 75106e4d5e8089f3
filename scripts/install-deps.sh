#!/usr/bin/env bash
# Installs what avatarproxy needs on Debian or Ubuntu, skipping what is there.
#   scripts/install-deps.sh run    libvips and pkg-config, to build and run
#   scripts/install-deps.sh test   the above plus what the test suite drives
#   scripts/install-deps.sh bench  the above plus the benchmark references
set -euo pipefail

want=(libvips-dev pkg-config gcc libc6-dev git ca-certificates curl)
case "${1:-run}" in
test)
  # Real components the suite proves the proxy against.
  want+=(prometheus redis-server varnish varnish-modules chromium)
  ;;
bench)
  # References measured side by side with the proxy, and real avatars.
  want+=(nginx-light wrk libvips-tools gnome-control-center-data util-linux)
  ;;
esac

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go: the go.mod toolchain or newer. Debian's own Go is too old, so fetch the
# official toolchain through the Go module proxy when none fits.
need_go=1.26
have_go() {
  command -v go >/dev/null 2>&1 || return 1
  local v; v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$need_go" "$v" | sort -V | head -n1)" = "$need_go" ]
}
if ! have_go && [ -x /usr/local/go/bin/go ]; then
  export PATH=/usr/local/go/bin:$PATH
fi
if ! have_go; then
  toolchain=go1.26.8
  echo "installing Go $toolchain from the module proxy" >&2
  if ! command -v go >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go ca-certificates unzip >/dev/null
  fi
  dir=$(cd /tmp && GOFLAGS=-mod=mod GOPATH=/tmp/gotoolchain go mod download -json "golang.org/toolchain@v0.0.1-$toolchain.linux-$(dpkg --print-architecture)" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  rm -rf /usr/local/go && cp -r "$dir" /usr/local/go && chmod -R u+w /usr/local/go
  # The module zip keeps no file modes: the tools need their exec bits back.
  find /usr/local/go/bin /usr/local/go/pkg/tool -type f -exec chmod +x {} +
  ln -sf /usr/local/go/bin/go /usr/local/bin/go
  ln -sf /usr/local/go/bin/gofmt /usr/local/bin/gofmt
fi
