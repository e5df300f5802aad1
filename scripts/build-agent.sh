#!/usr/bin/env bash
# Build every command under agent/cmd/ as a static Linux binary for each architecture, into
# sandbox_core/_agent/bin/<name>-linux-<arch> (package data; not committed: see .gitignore).
#
# Needs Go >= 1.19 and nothing from the network: the agent uses the standard library only
# (Debian: apt-get install -y golang-go). Builds are reproducible (-trimpath, no build id).
#
#   scripts/build-agent.sh                # amd64 and arm64
#   ARCHES=amd64 scripts/build-agent.sh
#   scripts/build-agent.sh --if-stale     # only when a binary is missing or older than agent/; as root on
#                                         # Debian, installs golang-go first if needed (scripts/dev does this)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$here/sandbox_core/_agent/bin"
arches="${ARCHES:-amd64 arm64}"

if [ "${1:-}" = "--if-stale" ]; then
  stale=0
  for dir in "$here"/agent/cmd/*/; do
    for arch in $arches; do
      bin="$out/$(basename "$dir")-linux-$arch"
      if [ ! -f "$bin" ] || [ -n "$(find "$here/agent" -type f -newer "$bin" -print -quit)" ]; then stale=1; fi
    done
  done
  [ "$stale" = 1 ] || exit 0
  if ! command -v go >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null; }
  fi
fi
command -v go >/dev/null || { echo "build-agent: go is not installed (Debian: apt-get install -y golang-go)" >&2; exit 1; }
mkdir -p "$out"
cd "$here/agent"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOWORK=off
for dir in cmd/*/; do
  name="$(basename "$dir")"
  for arch in $arches; do
    dest="$out/$name-linux-$arch"
    GOOS=linux GOARCH="$arch" go build -trimpath -buildvcs=false -ldflags "-s -w -buildid=" -o "$dest.tmp" "./$dir"
    mv -f "$dest.tmp" "$dest"
    echo "built $dest ($(stat -c %s "$dest") bytes)"
  done
done
