#!/usr/bin/env bash
# Ensure a rootful Podman answers its Docker-compatible API on a unix socket, with the project's images in its
# storage, so the library and the test-suite can run against it with DOCKER_HOST=unix://<socket>.
#
#   scripts/ensure-podman.sh          install (if missing), start (if not answering), load the images
#   scripts/ensure-podman.sh stop     stop the service this script started (pid file); nothing else
#
# A service that already answers on the socket is used untouched. The Docker engine is never touched: Podman
# keeps its own storage (/var/lib/containers), runtime state and networks (netavark, 10.88.0.0/16).
# Environment: SANDBOX_CORE_PODMAN_SOCKET (default /run/sandbox-core/podman.sock), SANDBOX_CORE_PODMAN_LOG
# (default /var/log/sandbox-core-podman.log), SANDBOX_CORE_PODMAN_WAIT (seconds, default 60).
# Prints the DOCKER_HOST to use on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

sock="${SANDBOX_CORE_PODMAN_SOCKET:-/run/sandbox-core/podman.sock}"
log_file="${SANDBOX_CORE_PODMAN_LOG:-/var/log/sandbox-core-podman.log}"
wait_seconds="${SANDBOX_CORE_PODMAN_WAIT:-60}"
pid_file="$(dirname "$sock")/podman-service.pid"
host="unix://$sock"

# Debian 12's podman 4.3 as a rootful service on a host without systemd (cgroup v1 or v2):
#   podman       the service (depends on conmon, golang-github-containers-common, crun | runc)
#   netavark     the network backend (the default for new installations; its DNS helper is aardvark-dns)
#   runc         the OCI runtime, the same one Docker uses. Not crun (Podman's preference): crun 1.8 refuses a
#                cgroup v1 host whose cgroup2 mount has a controller ("cgroups in hybrid mode not supported")
#   catatonit    the init Podman runs as PID 1 for HostConfig.Init (/usr/libexec/podman/catatonit)
#   iptables     netavark's firewall driver
#   curl         the readiness probe below
packages=(podman netavark aardvark-dns conmon runc catatonit iptables curl)
ulimits_conf=/etc/containers/containers.conf.d/50-sandbox-core-ulimits.conf
loopback_conf=/etc/containers/registries.conf.d/50-sandbox-core-loopback.conf

answers() {
  [ -S "$sock" ] && timeout 5 curl -fsS --unix-socket "$sock" http://d/_ping >/dev/null 2>&1
}

ours() {  # the pid in the pid file, when it is still the podman service this script started
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = podman ] && echo "$pid"
}

if [ "${1:-}" = stop ]; then
  if pid=$(ours); then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$pid_file"
    echo "ensure-podman: stopped the service on $sock"
  else
    echo "ensure-podman: no service started by this script is running"
  fi
  exit 0
fi

need_root() {
  if [ "$(uname -s)" != Linux ] || [ "$(id -u)" != 0 ]; then
    echo "ensure-podman: $1 needs Linux and root (this script sets up a rootful Podman service)." >&2
    exit 1
  fi
}

install_packages() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "installing ${missing[*]}"
  command -v apt-get >/dev/null || { echo "ensure-podman: install ${missing[*]} (no apt-get here)" >&2; exit 1; }
  echo "ensure-podman: installing Debian's ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  # No recommends: buildah, fuse-overlayfs, slirp4netns, uidmap and dbus-user-session serve rootless use.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

# Rootful Podman gives every container nofile and nproc limits of 1048576 (Docker: the daemon's own). Where
# they cannot be raised that far (no CAP_SYS_RESOURCE in the bounding set, as in some VMs and nested containers),
# the runtime fails every start ("setrlimit RLIMIT_NOFILE: Operation not permitted"), so Podman's default becomes
# the limits this host allows. This is a host-wide drop-in: without it no rootful container can start here.
host_ulimits() {
  local entries=()
  (ulimit -Hn 1048576) 2>/dev/null || entries+=("\"nofile=$(ulimit -Sn):$(ulimit -Hn)\"")
  if ! (ulimit -Hu 1048576) 2>/dev/null; then
    # Podman lowers its own nproc limit to kernel.pid_max, and its containers cannot exceed it.
    local nproc pid_max
    nproc=$(ulimit -Hu) pid_max=$(cat /proc/sys/kernel/pid_max)
    [ "$nproc" -le "$pid_max" ] || nproc=$pid_max
    entries+=("\"nproc=$nproc:$nproc\"")
  fi
  [ ${#entries[@]} -eq 0 ] && return 0
  local IFS=,
  local want
  want=$(printf '# written by sandbox-core scripts/ensure-podman.sh: the highest limits this host allows\n[containers]\ndefault_ulimits = [%s]\n' "${entries[*]}")
  if [ "$(cat "$ulimits_conf" 2>/dev/null)" != "$want" ]; then
    mkdir -p "$(dirname "$ulimits_conf")"
    printf '%s\n' "$want" >"$ulimits_conf"
    echo "ensure-podman: wrote $ulimits_conf (${entries[*]})"
  fi
}

# Docker lets plain-HTTP registries on the loopback (127.0.0.0/8, localhost) be used without configuration;
# Podman insists on HTTPS everywhere unless a registry is marked insecure. The same allowance for Podman, so a
# local registry (the pull tests start one on a free port) works with both engines. A location without a port
# matches every port of that host (containers-registries.conf(5)).
loopback_registries() {
  local want
  want=$(printf '# written by sandbox-core scripts/ensure-podman.sh: plain HTTP on the loopback, as Docker allows\n[[registry]]\nlocation = "127.0.0.1"\ninsecure = true\n\n[[registry]]\nlocation = "localhost"\ninsecure = true\n')
  if [ "$(cat "$loopback_conf" 2>/dev/null)" != "$want" ]; then
    mkdir -p "$(dirname "$loopback_conf")"
    printf '%s\n' "$want" >"$loopback_conf"
    echo "ensure-podman: wrote $loopback_conf"
  fi
}

start_service() {
  need_root "starting the Podman service"
  mkdir -p "$(dirname "$sock")" "$(dirname "$log_file")"
  rm -f "$sock"  # a stale socket of a dead service would make the probe hang on connect
  host_ulimits
  loopback_registries
  local flags=(--log-level=info --runtime=runc)
  # Without systemd: cgroupfs for cgroups and a file for events (the defaults, systemd and journald, need a
  # running systemd). Flags, so they change how this service runs, not Podman's configuration for other users.
  [ -d /run/systemd/system ] || flags+=(--cgroup-manager=cgroupfs --events-backend=file)
  echo "ensure-podman: starting podman system service on $sock (log: $log_file) ..."
  # From /: conmon writes files (an exec's "oom" marker) into its working directory, which is the service's.
  (cd / && exec nohup setsid podman "${flags[@]}" system service --time=0 "$host" >>"$log_file" 2>&1 </dev/null) &
  echo $! >"$pid_file"
  for _ in $(seq 1 $((wait_seconds * 5))); do
    answers && return 0
    kill -0 "$(cat "$pid_file")" 2>/dev/null || break
    sleep 0.2
  done
  echo "ensure-podman: the service did not answer within ${wait_seconds}s; last lines of $log_file:" >&2
  tail -n 20 "$log_file" >&2 || true
  exit 1
}

started=$(date +%s.%N)
since() { awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $1}"; }
install_packages
echo "ensure-podman: packages present ($(since "$started") s)"
if answers; then
  echo "ensure-podman: Podman answers on $sock; using it as it is."
else
  service_started=$(date +%s.%N)
  start_service
  echo "ensure-podman: Podman answers on $sock ($(since "$service_started") s after its start)."
fi

if ! command -v docker >/dev/null; then
  echo "ensure-podman: the service runs, but building the images needs the docker CLI (Debian ships it in" \
    "docker.io; dockerd need not run)." >&2
  exit 1
fi
# The project's images, built into Podman's storage by the same script that builds them for Docker (through
# Podman's compatible import endpoint), so no Docker engine is needed. The Python base image is skipped unless
# asked for (SANDBOX_CORE_SKIP_PYTHON_BASE=0): only the image-building tests use it.
DOCKER_HOST="$host" SANDBOX_CORE_SKIP_PYTHON_BASE="${SANDBOX_CORE_SKIP_PYTHON_BASE:-1}" scripts/build-images.sh
echo "ensure-podman: ready in $(since "$started") s"
echo "DOCKER_HOST=$host"
