#!/usr/bin/env bash
# Build the project's own images locally, without any registry: a rootfs made from Debian's busybox-static,
# imported with `docker import`. Each image is rebuilt only when it is missing.
#   sandbox-core/busybox:1       root user, sh + the busybox applets, CMD sleep 172800 (the default image)
#   sandbox-core/busybox-user:1  the same, running as uid 1000 ("sandbox")
#   sandbox-core/noshell:1       no shell at all: only a `sleep` binary, for archive-only code paths
#   sandbox-core/netpolicy:1     a sandbox's network holder: Debian's iptables (nft backend) and its libraries,
#                                plus the static sandbox-egress helper built from agent/ (rebuilt when its source
#                                changes: the image carries the source's hash as a label)
# and the Python base image of Image.debian_slim() (sandbox-core/debian-slim:py3.X-<recipe>), built from Debian's
# archive with mmdebstrap (installed here when missing and run as root). SANDBOX_CORE_PYTHON_BASE=auto prefers the
# official python image where a registry answers; SANDBOX_CORE_SKIP_PYTHON_BASE=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

owner_label='LABEL sandbox-core.owner=sandbox-core'
kind_label='LABEL sandbox-core.kind=base-image'

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

busybox_bin() {
  if [ ! -x /bin/busybox ] || ! /bin/busybox --list | grep -x sha256sum >/dev/null || ldd /bin/busybox >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "build-images: installing Debian's busybox-static ..." >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null; }
    else
      echo "build-images: a static /bin/busybox is needed (Debian: apt-get install busybox-static)" >&2
      exit 1
    fi
  fi
  echo /bin/busybox
}

make_rootfs() {  # $1 = dir, $2 = "shell" | "noshell"
  local root=$1 bb
  bb=$(busybox_bin)
  mkdir -p "$root"/{bin,etc,tmp,root,home/sandbox,proc,sys,dev,var/tmp}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/home/sandbox:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
  if [ "$2" = shell ]; then
    cp "$bb" "$root/bin/busybox"
    for applet in $("$bb" --list); do
      [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
    done
  else
    cp "$bb" "$root/bin/sleep"   # busybox picks the applet from argv[0]; nothing else is callable
  fi
  chown -R 1000:1000 "$root/home/sandbox"
}

import_image() {  # $1 = tag, $2 = rootfs dir, rest = extra --change lines
  local tag=$1 root=$2; shift 2
  local changes=(--change "$owner_label" --change "$kind_label" --change 'ENV PATH=/bin'
                 --change 'CMD ["sleep", "172800"]')
  for c in "$@"; do changes+=(--change "$c"); done
  tar -C "$root" --numeric-owner -cf - . | docker import "${changes[@]}" - "$tag" >/dev/null
  echo "build-images: built $tag"
}

repo=$(cd "$(dirname "$0")/.." && pwd)

# The hash of everything the egress helper is built from; tests compare it with the image's label.
netpolicy_source_hash() {
  (cd "$repo/agent" && find go.mod cmd/sandbox-egress internal/egress -type f -name '*.go' -o -name go.mod \
    | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16
}

have_netpolicy() {
  [ "$(docker image inspect -f '{{index .Config.Labels "sandbox-core.source"}}' sandbox-core/netpolicy:1 2>/dev/null)" \
    = "$(netpolicy_source_hash)" ]
}

go_bin() {
  if ! command -v go >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "build-images: installing Debian's golang-go ..." >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null; }
    else
      echo "build-images: Go is needed for sandbox-core/netpolicy:1 (Debian: apt-get install golang-go)" >&2
      exit 1
    fi
  fi
  command -v go
}

# iptables-nft and exactly the shared objects it loads, from Debian's packages (no registry involved).
make_netpolicy_rootfs() {  # $1 = dir
  local root=$1 debs=$work/debs x multiarch
  mkdir -p "$debs" "$work/x" "$root"/{usr/sbin,run,tmp,etc}
  (cd "$debs" && apt-get download -qq iptables libip4tc2 libip6tc2 libxtables12 libmnl0 libnetfilter-conntrack3 \
    libnfnetlink0 libnftnl11 libc6 2>/dev/null) \
    || { echo "build-images: apt-get download failed (is deb.debian.org reachable?)" >&2; exit 1; }
  for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$work/x"; done
  x=$work/x
  multiarch=$(basename "$(dirname "$(find "$x" -name libc.so.6 | head -1)")")
  mkdir -p "$root/usr/lib/$multiarch" "$root/lib/$multiarch" "$root/lib64"
  cp -a "$x/usr/sbin/xtables-nft-multi" "$root/usr/sbin/"
  for tool in iptables iptables-restore iptables-save ip6tables ip6tables-restore ip6tables-save; do
    ln -s xtables-nft-multi "$root/usr/sbin/$tool"
  done
  cp -a "$x/usr/lib/$multiarch/xtables" "$root/usr/lib/$multiarch/"
  cp -a "$x/usr/lib/$multiarch"/lib{xtables,mnl,nftnl,netfilter_conntrack,nfnetlink}.so.* "$root/usr/lib/$multiarch/"
  cp -a "$x/lib/$multiarch"/{libc.so.6,libm.so.6,ld-linux-*.so.*} "$root/lib/$multiarch/"
  cp -a "$x"/lib64/ld-linux-* "$root/lib64/" 2>/dev/null || true
  printf 'root:x:0:0:root:/:/sandbox-egress\n' >"$root/etc/passwd"
  chmod 1777 "$root/tmp"
  (cd "$repo/agent" && CGO_ENABLED=0 "$(go_bin)" build -trimpath -ldflags='-s -w' \
    -o "$root/sandbox-egress" ./cmd/sandbox-egress)
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! have_image sandbox-core/busybox:1 || ! have_image sandbox-core/busybox-user:1; then
  make_rootfs "$work/shell" shell
  have_image sandbox-core/busybox:1 || import_image sandbox-core/busybox:1 "$work/shell" 'WORKDIR /'
  have_image sandbox-core/busybox-user:1 || import_image sandbox-core/busybox-user:1 "$work/shell" \
    'USER 1000:1000' 'WORKDIR /home/sandbox'
fi
if ! have_image sandbox-core/noshell:1; then
  make_rootfs "$work/noshell" noshell
  import_image sandbox-core/noshell:1 "$work/noshell" 'WORKDIR /'
fi
if ! have_netpolicy; then
  stale=$(docker image inspect -f '{{.Id}}' sandbox-core/netpolicy:1 2>/dev/null || true)
  make_netpolicy_rootfs "$work/netpolicy"
  tar -C "$work/netpolicy" --numeric-owner -cf - . | docker import \
    --change "$owner_label" --change 'LABEL sandbox-core.kind=netpolicy-image' \
    --change "LABEL sandbox-core.source=$(netpolicy_source_hash)" \
    --change 'ENV PATH=/usr/sbin:/' --change 'ENTRYPOINT ["/sandbox-egress"]' --change 'CMD ["run"]' \
    - sandbox-core/netpolicy:1 >/dev/null
  [ -z "$stale" ] || docker image rm "$stale" >/dev/null 2>&1 || true  # in use by a holder: stays until then
  echo "build-images: built sandbox-core/netpolicy:1"
fi
python_base() {
  local py=${PYTHON:-.venv/bin/python}
  [ -x "$py" ] || py=python3
  if ! command -v mmdebstrap >/dev/null && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "build-images: installing Debian's mmdebstrap ..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; }
  fi
  SANDBOX_CORE_PYTHON_BASE=${SANDBOX_CORE_PYTHON_BASE:-build} "$py" -m sandbox_core._imagebuild
}

if [ "${SANDBOX_CORE_SKIP_PYTHON_BASE:-}" != 1 ]; then
  python_base
fi
echo "build-images: images are present"
