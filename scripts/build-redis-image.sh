#!/usr/bin/env bash
# Builds a Redis image from this machine's own redis-server and redis-cli, for sites where no
# image registry is reachable (or mirrored): compose.yaml runs it with PROXIMA_REDIS_IMAGE.
#
#   scripts/build-redis-image.sh
#   PROXIMA_REDIS_IMAGE=proxima-redis:local docker compose up -d
#
# REDIS_IMAGE  tag of the image (default proxima-redis:local)
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS_IMAGE=${REDIS_IMAGE:-proxima-redis:local}

for arg in "$@"; do
  case $arg in
    -h | --help)
      sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "error: unknown option $arg (see --help)" >&2
      exit 2
      ;;
  esac
done

fail() {
  echo "error: $*" >&2
  exit 1
}

command -v docker >/dev/null 2>&1 || fail "docker CLI not found: install docker.io (see .ci/run)"
docker info >/dev/null 2>&1 ||
  fail "docker engine not reachable at ${DOCKER_HOST:-/var/run/docker.sock}: start dockerd (see .ci/run)"
server=$(command -v redis-server) || fail "redis-server not found: apt-get install redis-server"
cli=$(command -v redis-cli) || fail "redis-cli not found: apt-get install redis-tools"

# Parallel test files build the same tag: one build at a time.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/proxima-build-redis-image.lock"
  flock 9
fi
export DOCKER_BUILDKIT=0

ctx=$(mktemp -d "${TMPDIR:-/tmp}/proxima-redis-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
root=$ctx/root

# Copies the shared libraries FILE loads into the root folder at the paths ldd names.
copy_libs() {
  local file=$1 lib
  for lib in $(ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

# Debian's redis-server is a link to redis-check-rdb; the binary picks its role from the name
# it is run by, so the copy keeps the name redis-server.
install -D -m 0755 "$(readlink -f "$server")" "$root/usr/local/bin/redis-server"
install -D -m 0755 "$(readlink -f "$cli")" "$root/usr/local/bin/redis-cli"
copy_libs "$server"
copy_libs "$cli"
mkdir -p "$root/tmp" "$root/etc" "$ctx/data"
chmod 1777 "$root/tmp"
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/false
redis:x:999:999:redis:/data:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
redis:x:999:
EOF
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"

version=$("$server" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
# /data belongs to the redis user, so a named volume mounted there is writable by it, as with
# the official image.
cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY root/ /
COPY --chown=999:999 data/ /data/
ENV PATH=/usr/local/bin:/usr/bin:/bin
WORKDIR /data
USER 999:999
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
LABEL org.opencontainers.image.title="redis" \\
      org.opencontainers.image.description="redis-server $version from the build machine" \\
      proxima.role="redis"
EOF

started=$(date +%s.%N)
log=$ctx/build.log
if ! docker build -t "$REDIS_IMAGE" "$ctx" >"$log" 2>&1; then
  tail -20 "$log" >&2
  fail "docker build of $REDIS_IMAGE failed (last lines above)"
fi
docker run --rm --network none "$REDIS_IMAGE" redis-server --version >/dev/null ||
  fail "$REDIS_IMAGE was built but its redis-server does not start"
size=$(docker image inspect --format '{{.Size}}' "$REDIS_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')
took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "built $REDIS_IMAGE (redis $version, $size) in $took s"
# The images this tag pointed at before are untagged now.
docker image prune -f --filter "label=proxima.role=redis" >/dev/null || true
