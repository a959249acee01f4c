# Sourced after engine.sh: builds stand-ins for the base images no registry here can serve, and
# tags them with the names the Dockerfiles and docker-compose.yml use.
#
#   Debian    debootstrap --variant=minbase of the suite the real base names (trixie), from Debian's archive
#   Node      that Debian plus Node.js of exactly the pinned version from npm's `node-linux-<arch>`
#             package (the official binary), npm from the npm registry, user `node` (1000:1000)
#   Postgres  that Debian plus Debian's `postgresql` (17 on trixie; the real image is 18), user
#             `postgres` (999:999) and postgres-entrypoint.sh, which honours the variables we use
#   RabbitMQ  that Debian plus Debian's `rabbitmq-server` (and its Erlang), user `rabbitmq`
#             (999:999), the data directory and the console logging of the official image; RabbitMQ
#             itself reads the RABBITMQ_DEFAULT_USER / _PASS we use, so no entrypoint is needed
#
# Each image carries a label with a key of everything it was made from; a run finds the image with
# that key in the persistent data root and skips the work. Differences from the real bases are
# listed in docs/operations.md ("Container images").

CONTAINERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$CONTAINERS_DIR/../.." && pwd)
NPM_VERSION=11.21.2 # npm of the Node 24 line; the real image bundles its own
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
HOST_CA_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

# node:24.21.0-trixie-slim: the one pinned base of every Dockerfile (the Dockerfile tests check they agree).
NODE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' "$REPO_ROOT/gateway/Dockerfile")
NODE_VERSION=$(echo "$NODE_IMAGE" | sed -E 's/^node:([0-9.]+)-.*/\1/')
DEBIAN_SUITE=$(echo "$NODE_IMAGE" | sed -E 's/^node:[0-9.]+-([a-z]+)-.*/\1/')
POSTGRES_IMAGE=$(sed -n 's/^ *image: \(postgres:.*\)$/\1/p' "$REPO_ROOT/docker-compose.yml" | head -1)
POSTGRES_MAJOR=17 # Debian trixie's
RABBITMQ_IMAGE=$(sed -n 's/^ *image: \(rabbitmq:.*\)$/\1/p' "$REPO_ROOT/docker-compose.yml" | head -1)

label_key() { "$DOCKER" image inspect -f '{{index .Config.Labels "imagehub.standin.key"}}' "$1" 2>/dev/null; }
# Cached: the key matches and the image is recorded for the architecture it holds.
cached() { # tag key arch
  [ "$(label_key "$1")" = "$2" ] &&
    [ "$("$DOCKER" image inspect -f '{{.Os}}/{{.Architecture}}' "$1" 2>/dev/null)" = "linux/$3" ]
}
key_of() { echo "$*" | sha256sum | cut -c1-16; }

# Debian's arch names for docker's platforms.
deb_arch() { case $1 in amd64) echo amd64 ;; arm64) echo arm64 ;; arm) echo armhf ;; esac; }
platform_of() { case $1 in amd64) echo linux/amd64 ;; arm64) echo linux/arm64 ;; arm) echo linux/arm/v7 ;; esac; }
node_arch() { case $1 in amd64) echo x64 ;; arm64) echo arm64 ;; arm) echo armv7l ;; esac; }

# The minbase rootfs of $DEBIAN_SUITE for one arch, as imagehub-standin/debian:<suite>-<arch>.
base_debian() { # arch
  local arch=$1 tag="imagehub-standin/debian:$DEBIAN_SUITE-$1"
  local key
  key=$(key_of debian "$DEBIAN_SUITE" "$arch" "$DEBIAN_MIRROR" v1)
  if cached "$tag" "$key" "$arch"; then log "$tag: cached"; return 0; fi
  local started=$SECONDS root
  root=$(mktemp -d /tmp/imagehub-rootfs.XXXXXX)
  log "$tag: debootstrap $DEBIAN_SUITE ($(deb_arch "$arch"))"
  if ! debootstrap --variant=minbase --arch="$(deb_arch "$arch")" --include=ca-certificates \
    "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >"$root.log" 2>&1; then
    tail -30 "$root.log" >&2; rm -rf "$root" "$root.log"; return 1
  fi
  # What a slim image leaves out: package lists, caches, docs.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
  # Keep apt from pulling recommends, as the real slim images are configured.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/99norecommends"
  # FROM scratch with BuildKit rather than `docker import`: 20.10's import records the host's
  # architecture whatever the rootfs is, and BuildKit then ignores a foreign-platform base.
  mkdir -p "$root.ctx"
  tar -C "$root" -cf "$root.ctx/rootfs.tar" .
  cat >"$root.ctx/Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL imagehub.standin.key=$key
CMD ["bash"]
EOF
  DOCKER_BUILDKIT=1 "$DOCKER" build -q --platform "$(platform_of "$arch")" -t "$tag" "$root.ctx" >/dev/null
  local code=$?
  rm -rf "$root" "$root.log" "$root.ctx"
  log "$tag: built in $((SECONDS - started)) s"
  return $code
}

# Node of the pinned version on that Debian, tagged $NODE_IMAGE (amd64) or <NODE_IMAGE>-<arch>.
base_node() { # arch [node version]
  local arch=$1 version=${2:-$NODE_VERSION}
  local tag
  if [ "$arch" = amd64 ] && [ "$version" = "$NODE_VERSION" ]; then tag=$NODE_IMAGE
  else tag="imagehub-standin/node:$version-$DEBIAN_SUITE-slim-$arch"; fi
  base_debian "$arch" || return 1
  local key
  key=$(key_of node "$version" "$NPM_VERSION" "$(label_key "imagehub-standin/debian:$DEBIAN_SUITE-$arch")" \
    "$(sha256sum "$HOST_CA_BUNDLE" 2>/dev/null)" v1)
  if cached "$tag" "$key" "$arch"; then log "$tag: cached"; return 0; fi
  local started=$SECONDS ctx
  ctx=$(mktemp -d /tmp/imagehub-node.XXXXXX)
  log "$tag: Node $version (node-linux-$(node_arch "$arch")) and npm $NPM_VERSION from the npm registry"
  # The packages are fetched with npm (the registry is reachable; no other download site is).
  local tarballs="$IMAGEHUB_CONTAINERS_CACHE/tarballs"
  mkdir -p "$tarballs"
  local node_tgz="$tarballs/node-linux-$(node_arch "$arch")-$version.tgz" npm_tgz="$tarballs/npm-$NPM_VERSION.tgz"
  [ -s "$node_tgz" ] || (cd "$tarballs" && npm pack --silent "node-linux-$(node_arch "$arch")@$version" >/dev/null) || { rm -rf "$ctx"; return 1; }
  [ -s "$npm_tgz" ] || (cd "$tarballs" && npm pack --silent "npm@$NPM_VERSION" >/dev/null) || { rm -rf "$ctx"; return 1; }
  mkdir -p "$ctx/node/bin" "$ctx/node/lib/node_modules/npm"
  tar -xzf "$node_tgz" -C "$ctx/node/bin" --strip-components=2 package/bin/node
  tar -xzf "$npm_tgz" -C "$ctx/node/lib/node_modules/npm" --strip-components=1
  # The build machine's certificate authorities: where the network re-signs TLS (a proxy), npm in
  # the builds must trust what the host trusts. The official binary reads only its own bundle.
  mkdir -p "$ctx/node/share/imagehub-standin"
  if [ -s "$HOST_CA_BUNDLE" ]; then cp "$HOST_CA_BUNDLE" "$ctx/node/share/imagehub-standin/host-ca.crt"
  else : >"$ctx/node/share/imagehub-standin/host-ca.crt"; fi
  cat >"$ctx/Dockerfile" <<EOF
FROM imagehub-standin/debian:$DEBIAN_SUITE-$arch
COPY node /usr/local
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version
ENV NODE_VERSION=$version NODE_EXTRA_CA_CERTS=/usr/local/share/imagehub-standin/host-ca.crt
LABEL imagehub.standin.key=$key
CMD ["node"]
EOF
  DOCKER_BUILDKIT=1 "$DOCKER" build -q --platform "$(platform_of "$arch")" --network host -t "$tag" "$ctx" >/dev/null
  local code=$?
  rm -rf "$ctx"
  log "$tag: built in $((SECONDS - started)) s"
  return $code
}

# Debian's Postgres with our entrypoint, tagged $POSTGRES_IMAGE (amd64 only: the compose stack).
base_postgres() {
  base_debian amd64 || return 1
  local tag=$POSTGRES_IMAGE key
  key=$(key_of postgres "$POSTGRES_MAJOR" "$(label_key "imagehub-standin/debian:$DEBIAN_SUITE-amd64")" \
    "$(sha256sum "$CONTAINERS_DIR/postgres-entrypoint.sh")" v1)
  if cached "$tag" "$key" amd64; then log "$tag: cached"; return 0; fi
  local started=$SECONDS ctx
  ctx=$(mktemp -d /tmp/imagehub-postgres.XXXXXX)
  log "$tag: Debian's postgresql-$POSTGRES_MAJOR"
  cp "$CONTAINERS_DIR/postgres-entrypoint.sh" "$ctx/docker-entrypoint.sh"
  cat >"$ctx/Dockerfile" <<EOF
FROM imagehub-standin/debian:$DEBIAN_SUITE-amd64
# The user first, with the official image's numbers (the manifests run Postgres as 999:999);
# no cluster from the package: the entrypoint makes one in PGDATA.
RUN groupadd --system --gid 999 postgres \\
 && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres \\
 && mkdir -p /etc/postgresql-common \\
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \\
 && apt-get update \\
 && apt-get install -y --no-install-recommends postgresql-$POSTGRES_MAJOR \\
 && rm -rf /var/lib/apt/lists/* \\
 && install -d -o postgres -g postgres -m 3777 /var/run/postgresql \\
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/$POSTGRES_MAJOR/bin:\$PATH PGDATA=/var/lib/postgresql/data
COPY docker-entrypoint.sh /usr/local/bin/
LABEL imagehub.standin.key=$key
ENTRYPOINT ["docker-entrypoint.sh"]
# Fast shutdown, as the official image does.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
EOF
  chmod 755 "$ctx/docker-entrypoint.sh"
  DOCKER_BUILDKIT=1 "$DOCKER" build -q --network host -t "$tag" "$ctx" >/dev/null
  local code=$?
  rm -rf "$ctx"
  log "$tag: built in $((SECONDS - started)) s"
  return $code
}

# Debian's RabbitMQ, tagged $RABBITMQ_IMAGE (amd64 only: the compose stack).
base_rabbitmq() {
  base_debian amd64 || return 1
  local tag=$RABBITMQ_IMAGE key
  key=$(key_of rabbitmq "$(label_key "imagehub-standin/debian:$DEBIAN_SUITE-amd64")" v1)
  if cached "$tag" "$key" amd64; then log "$tag: cached"; return 0; fi
  local started=$SECONDS ctx
  ctx=$(mktemp -d /tmp/imagehub-rabbitmq.XXXXXX)
  log "$tag: Debian's rabbitmq-server"
  cat >"$ctx/Dockerfile" <<EOF
FROM imagehub-standin/debian:$DEBIAN_SUITE-amd64
# The user first, with the official image's numbers (the StatefulSet and compose run it as 999:999).
# policy-rc.d: the package must not start its service inside the build. Whatever the package's
# postinst left in the data directory (a cookie, a node) goes: a container starts from empty.
RUN groupadd --system --gid 999 rabbitmq \\
 && useradd --system --uid 999 --gid rabbitmq --home-dir /var/lib/rabbitmq --shell /bin/bash rabbitmq \\
 && printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \\
 && apt-get update \\
 && apt-get install -y --no-install-recommends rabbitmq-server \\
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d /var/lib/rabbitmq \\
 && install -d -o rabbitmq -g rabbitmq -m 0750 /var/lib/rabbitmq \\
 && install -d /etc/rabbitmq/conf.d \\
 && printf 'loopback_users.guest = false\nlog.console = true\n' >/etc/rabbitmq/conf.d/10-defaults.conf
# The upstream scripts first (not Debian's wrappers in /usr/sbin, which insist on user "rabbitmq"
# by name and switch users), as the official image has them on PATH.
ENV PATH=/usr/lib/rabbitmq/bin:\$PATH HOME=/var/lib/rabbitmq
LABEL imagehub.standin.key=$key
EXPOSE 5672
CMD ["rabbitmq-server"]
EOF
  DOCKER_BUILDKIT=1 "$DOCKER" build -q --network host -t "$tag" "$ctx" >/dev/null
  local code=$?
  rm -rf "$ctx"
  log "$tag: built in $((SECONDS - started)) s"
  return $code
}
