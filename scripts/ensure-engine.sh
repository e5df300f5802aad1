#!/usr/bin/env bash
# Ensure a Docker engine answers on the default socket (or $DOCKER_HOST).
# An engine that already answers is used untouched: never stopped, never reconfigured.
# Otherwise, on Linux as root: install Debian's docker.io when dockerd is missing, start dockerd in the
# background with its log in a file, and wait (bounded) until it answers.
set -euo pipefail

log_file="${SANDBOX_CORE_DOCKERD_LOG:-/var/log/sandbox-core-dockerd.log}"
wait_seconds="${SANDBOX_CORE_DOCKERD_WAIT:-60}"

engine_answers() {
  if command -v docker >/dev/null 2>&1; then
    timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
  else
    local sock="${DOCKER_HOST:-unix:///var/run/docker.sock}"
    sock="${sock#unix://}"
    [ -S "$sock" ] && timeout 10 curl -fsS --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
  fi
}

if engine_answers; then
  echo "ensure-engine: the Docker engine answers; using it as it is."
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ] && [[ "${DOCKER_HOST}" != unix://* ]]; then
  echo "ensure-engine: DOCKER_HOST=${DOCKER_HOST} does not answer; start that engine and try again." >&2
  exit 1
fi

if [ "$(uname -s)" != "Linux" ] || [ "$(id -u)" != "0" ]; then
  cat >&2 <<MSG
ensure-engine: no Docker engine answers, and this script starts one only on Linux as root.
Start Docker yourself (Docker Desktop, or 'sudo systemctl start docker'), or set DOCKER_HOST, then run again.
MSG
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-engine: installing Debian's docker.io ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

# gVisor: an engine this script starts gets the `runsc` runtime (Debian's runsc). gVisor's own network stack
# refuses to run here ("cannot run with network enabled in root network namespace": this kernel has
# /proc/sys/net/core/rmem_default in every netns), so runsc runs with --network=host, which keeps the
# container's own network namespace but serves socket calls from the host kernel. The flag goes through a
# wrapper because `dockerd --add-runtime` takes no runtime arguments and a daemon.json of ours would replace
# the user's.
runtime_dir="${SANDBOX_CORE_RUNTIME_DIR:-/usr/local/lib/sandbox-core}"
runsc_args=()
setup_runsc() {
  if ! command -v runsc >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null 2>&1 || return 0
  fi
  mkdir -p "$runtime_dir"
  printf '#!/bin/sh\nexec %s --network=host "$@"\n' "$(command -v runsc)" >"$runtime_dir/runsc-host-network"
  chmod 0755 "$runtime_dir/runsc-host-network"
  runsc_args=(--add-runtime "runsc=$runtime_dir/runsc-host-network")
}

# A dockerd that is already starting (its default pid file names a live process) is left alone: we only wait for
# it. Other dockerds on the host (private engines on their own sockets, e.g. the swarm tests') do not count.
default_dockerd_alive() {
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]
}
if ! default_dockerd_alive; then
  setup_runsc
  echo "ensure-engine: starting dockerd (log: $log_file) ..."
  mkdir -p "$(dirname "$log_file")"
  nohup setsid dockerd "${runsc_args[@]}" >>"$log_file" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$wait_seconds"); do
  if engine_answers; then
    echo "ensure-engine: the Docker engine answers."
    exit 0
  fi
  sleep 1
done
echo "ensure-engine: dockerd did not answer within ${wait_seconds}s; last lines of $log_file:" >&2
tail -n 20 "$log_file" >&2 || true
exit 1
