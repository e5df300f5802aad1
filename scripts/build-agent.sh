#!/usr/bin/env bash
# Build every command under agent/cmd/ as a static Linux binary for each architecture, into
# sandbox_core/_agent/bin/<name>-linux-<arch> (package data; not committed: see .gitignore).
#
# Needs Go >= 1.19 and nothing from the network: the agent uses the standard library only
# (Debian: apt-get install -y golang-go). Builds are reproducible (-trimpath, no build id).
#
#   scripts/build-agent.sh            # amd64 and arm64
#   ARCHES=amd64 scripts/build-agent.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$here/sandbox_core/_agent/bin"
arches="${ARCHES:-amd64 arm64}"
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
