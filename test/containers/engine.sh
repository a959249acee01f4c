# Sourced by the container scripts: installs the engine from Debian's packages and runs a Docker
# daemon of our own. Its socket, pid file, exec root and data root are all ours, so it never
# touches (or is touched by) a daemon that may already run on the machine; the data root persists
# in the cache folder, which keeps the stand-in bases and the build cache between runs.
#
# After `engine_start`: DOCKER_HOST points at our daemon, and `docker` / `docker-compose` are
# Debian's (another `docker` earlier in PATH may lack BuildKit). `engine_stop` ends it.

# Persistent cache: /var/cache as root (CI runs as root on a machine that keeps it), else ~/.cache.
if [ -z "${IMAGEHUB_CONTAINERS_CACHE:-}" ]; then
  if [ "$(id -u)" -eq 0 ]; then IMAGEHUB_CONTAINERS_CACHE=/var/cache/imagehub-containers
  else IMAGEHUB_CONTAINERS_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/imagehub-containers"; fi
fi
export IMAGEHUB_CONTAINERS_CACHE
# One data root per script that may run at the same time as another (the arm check has its own).
ENGINE_DATA_ROOT=${ENGINE_DATA_ROOT:-$IMAGEHUB_CONTAINERS_CACHE/docker}
# Run state (socket, pid file, exec root) is per run: short paths, since unix sockets cap at ~100 bytes.
ENGINE_RUN_DIR=""

DOCKER=/usr/bin/docker
COMPOSE=/usr/bin/docker-compose
ENGINE_PACKAGES=(docker.io containerd runc docker-compose debootstrap iptables ca-certificates curl)

log() { echo "[containers $(date -u +%H:%M:%S)] $*"; }

# Installs whatever of the packages is missing (apt-get update first, as CI requires).
engine_install() { # extra packages...
  local wanted=("${ENGINE_PACKAGES[@]}" "$@") missing=() p
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then log "packages already installed"; return 0; fi
  if [ "$(id -u)" -ne 0 ]; then echo "need root to install: ${missing[*]}" >&2; return 1; fi
  log "installing ${missing[*]}"
  # policy-rc.d 101: the package must not start the system's own daemon; we start ours.
  local policy=/usr/sbin/policy-rc.d had_policy=0
  [ -e "$policy" ] && had_policy=1
  if [ "$had_policy" -eq 0 ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; fi
  apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  local code=$?
  [ "$had_policy" -eq 1 ] || rm -f "$policy"
  return $code
}

engine_start() {
  local started=$SECONDS
  mkdir -p "$ENGINE_DATA_ROOT"
  # One daemon per data root: a second run on this machine (another CI job) waits for the first.
  exec 9>"$ENGINE_DATA_ROOT.lock"
  if ! flock --nonblock 9; then
    log "another run uses $ENGINE_DATA_ROOT; waiting for it"
    flock 9
  fi
  ENGINE_RUN_DIR=$(mktemp -d /tmp/imagehub-dockerd.XXXXXX)
  export DOCKER_HOST="unix://$ENGINE_RUN_DIR/docker.sock"
  # Our own bridge-less, iptables-free daemon: compose makes its own networks, the host reaches
  # published ports through docker-proxy, and builds use the host's network (npm, Debian).
  # Nothing in the host's iptables or the default `docker0` bridge is changed.
  log "starting dockerd (data root $ENGINE_DATA_ROOT, socket $ENGINE_RUN_DIR/docker.sock)"
  dockerd \
    --data-root "$ENGINE_DATA_ROOT" \
    --exec-root "$ENGINE_RUN_DIR/exec" \
    --pidfile "$ENGINE_RUN_DIR/dockerd.pid" \
    --host "$DOCKER_HOST" \
    --bridge none --iptables=false --ip-masq=false \
    --storage-driver overlay2 \
    --log-level warn \
    >"$ENGINE_RUN_DIR/dockerd.log" 2>&1 9>&- &
  ENGINE_PID=$!
  local i
  for i in $(seq 1 120); do
    if "$DOCKER" version >/dev/null 2>&1; then log "dockerd is up ($((SECONDS - started)) s)"; return 0; fi
    if ! kill -0 "$ENGINE_PID" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "dockerd did not start; its log:" >&2
  cat "$ENGINE_RUN_DIR/dockerd.log" >&2
  return 1
}

# Stops our daemon (and only ours, by the pid we started), then removes its run folder.
engine_stop() {
  [ -n "${ENGINE_PID:-}" ] || return 0
  if kill -0 "$ENGINE_PID" 2>/dev/null; then
    kill -TERM "$ENGINE_PID"
    local i
    for i in $(seq 1 60); do kill -0 "$ENGINE_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$ENGINE_PID" 2>/dev/null && kill -KILL "$ENGINE_PID"
    wait "$ENGINE_PID" 2>/dev/null
  fi
  ENGINE_PID=""
  # Mounts left under the exec root by a killed daemon would keep the folder busy.
  if [ -n "$ENGINE_RUN_DIR" ]; then
    grep -o " $ENGINE_RUN_DIR[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$ENGINE_RUN_DIR"
  fi
}
