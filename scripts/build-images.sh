#!/usr/bin/env bash
# Build the project's own images locally, without any registry: a rootfs made from Debian's busybox-static,
# imported with `docker import`. Each image is rebuilt only when it is missing.
#   sandbox-core/busybox:1       root user, sh + the busybox applets, CMD sleep 172800 (the default image)
#   sandbox-core/busybox-user:1  the same, running as uid 1000 ("sandbox")
#   sandbox-core/noshell:1       no shell at all: only a `sleep` binary, for archive-only code paths
# and the Python base image of Image.debian_slim() (sandbox-core/debian-slim:py3.X-<recipe>), built from Debian's
# archive with mmdebstrap (installed here when missing and run as root). SANDBOX_CORE_PYTHON_BASE=auto prefers the
# official python image where a registry answers; SANDBOX_CORE_SKIP_PYTHON_BASE=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

owner_label='LABEL sandbox-core.owner=sandbox-core'
kind_label='LABEL sandbox-core.kind=base-image'

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

busybox_bin() {
  if [ ! -x /bin/busybox ] || ! /bin/busybox --list | grep -qx sha256sum || ldd /bin/busybox >/dev/null 2>&1; then
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
