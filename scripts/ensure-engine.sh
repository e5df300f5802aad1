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

# A dockerd that is already starting (pid file present and alive) is left alone: we only wait for it.
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "ensure-engine: starting dockerd (log: $log_file) ..."
  mkdir -p "$(dirname "$log_file")"
  nohup setsid dockerd >>"$log_file" 2>&1 </dev/null &
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
