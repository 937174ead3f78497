#!/usr/bin/env bash
# Builds the encoder image where no image registry is reachable: the base image is assembled
# from this machine's own node, npm and shell, so only the npm registry is needed.
#
#   scripts/build-images.sh [--rebuild-base]
#
# BASE_IMAGE     base of Dockerfile.encoder; unset: proxima-base:local, built here first
# ENCODER_IMAGE  tag of the encoder image (default proxima-encoder:latest)
set -euo pipefail
cd "$(dirname "$0")/.."

LOCAL_BASE=proxima-base:local
ENCODER_IMAGE=${ENCODER_IMAGE:-proxima-encoder:latest}
rebuild_base=0

for arg in "$@"; do
  case $arg in
    --rebuild-base) rebuild_base=1 ;;
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
if ! docker info >/dev/null 2>&1; then
  fail "docker engine not reachable at ${DOCKER_HOST:-/var/run/docker.sock}: start dockerd (see .ci/run)"
fi

# Test files build the same image from parallel processes: one build at a time, after which
# the others find every layer cached instead of racing on the same tags.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/proxima-build-images.lock"
  flock 9
fi

# The CLI may be newer than the engine and lack buildx; the classic builder works with both.
export DOCKER_BUILDKIT=0

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Copies the shared libraries FILE loads into the root folder at the paths ldd names, so
# FILE runs in an image that has nothing else.
copy_libs() {
  local root=$1 file=$2 lib
  for lib in $(ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

base_root=
cleanup() { [ -z "$base_root" ] || rm -rf "$base_root"; }
trap cleanup EXIT

build_local_base() {
  local started root node npm_dir sh tool
  started=$(now)
  node=$(readlink -f "$(command -v node)")
  npm_dir="$(dirname "$(dirname "$node")")/lib/node_modules/npm"
  [ -f "$npm_dir/bin/npm-cli.js" ] || npm_dir=$(npm root -g)/npm
  [ -f "$npm_dir/bin/npm-cli.js" ] || fail "npm not found next to $node"
  base_root=$(mktemp -d "${TMPDIR:-/tmp}/proxima-base.XXXXXX")
  root=$base_root

  install -D -m 0755 "$node" "$root/usr/local/bin/node"
  copy_libs "$root" "$node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  for tool in npm npx; do
    printf '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/%s-cli.js "$@"\n' \
      "$tool" >"$root/usr/local/bin/$tool"
    chmod 0755 "$root/usr/local/bin/$tool"
  done

  # npm runs scripts with /bin/sh, and package bins start with #!/usr/bin/env node.
  sh=$(readlink -f /bin/sh)
  install -D -m 0755 "$sh" "$root/bin/sh"
  copy_libs "$root" "$sh"
  install -D -m 0755 "$(readlink -f /usr/bin/env)" "$root/usr/bin/env"
  copy_libs "$root" /usr/bin/env
  # util-linux's setpriv: the worker runs ffmpeg under `setpriv --pdeathsig KILL`, so the kernel
  # kills an encode whose worker died; without it an orphaned ffmpeg keeps writing.
  local setpriv
  if setpriv=$(command -v setpriv); then
    install -D -m 0755 "$(readlink -f "$setpriv")" "$root/usr/bin/setpriv"
    copy_libs "$root" "$setpriv"
  else
    echo "warning: setpriv not found (apt install util-linux): ffmpeg in $LOCAL_BASE will outlive a killed worker" >&2
  fi

  mkdir -p "$root/etc/ssl/certs" "$root/root" "$root/tmp"
  chmod 0700 "$root/root"
  chmod 1777 "$root/tmp"
  # The machine's trust store, so npm in the build trusts what npm on the machine trusts
  # (a TLS-inspecting proxy's CA included); node would otherwise know only its built-in roots.
  local -a trust=()
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
    trust=(-c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
  fi
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
proxima:x:10001:10001:proxima:/home/proxima:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
proxima:x:10001:
nogroup:x:65534:
EOF
  echo 'hosts: files dns' >"$root/etc/nsswitch.conf"

  # Owners are numeric so the tar means the same on every machine.
  tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
    docker import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["node"]' \
      "${trust[@]}" \
      -c "LABEL proxima.base=local org.opencontainers.image.description=\"node $("$node" --version) from the build machine\"" \
      - "$LOCAL_BASE" >/dev/null
  docker run --rm --network host --entrypoint /usr/local/bin/node "$LOCAL_BASE" -e 0 ||
    fail "$LOCAL_BASE was built but its node does not start"
  echo "built $LOCAL_BASE (node $("$node" --version), $(image_size "$LOCAL_BASE")) in $(since "$started") s"
}

image_size() {
  docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'
}

if [ -z "${BASE_IMAGE:-}" ]; then
  BASE_IMAGE=$LOCAL_BASE
  if [ "$rebuild_base" = 1 ] || ! docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
    build_local_base
  elif command -v setpriv >/dev/null 2>&1 &&
    ! docker run --rm --network none --entrypoint /usr/bin/setpriv "$LOCAL_BASE" --version >/dev/null 2>&1; then
    echo "$LOCAL_BASE has no setpriv (built by an older version of this script): rebuilding it"
    build_local_base
  else
    echo "using existing $LOCAL_BASE (--rebuild-base to rebuild it)"
  fi
fi

version=$(node -p 'require("./package.json").version')
protocol=$(sed -n 's/^export const PROTOCOL_VERSION = \([0-9][0-9]*\).*/\1/p' core/version.ts)
[ -n "$protocol" ] || fail "PROTOCOL_VERSION not found in core/version.ts"
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

build_args=(
  --build-arg "BASE_IMAGE=$BASE_IMAGE"
  --build-arg "PROXIMA_VERSION=$version"
  --build-arg "PROXIMA_PROTOCOL=$protocol"
  --build-arg "PROXIMA_REVISION=$revision"
)
# npm inside the build goes through the same HTTP proxy as this shell, when one is set.
for var in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
  if [ -n "${!var:-}" ]; then build_args+=(--build-arg "$var"); fi
done

started=$(now)
echo "building $ENCODER_IMAGE from $BASE_IMAGE (proxima $version, protocol $protocol)"
log=$(mktemp "${TMPDIR:-/tmp}/proxima-encoder-build.XXXXXX")
if ! docker build --network host -f Dockerfile.encoder -t "$ENCODER_IMAGE" "${build_args[@]}" . >"$log" 2>&1; then
  tail -40 "$log" >&2
  rm -f "$log"
  fail "docker build of $ENCODER_IMAGE failed (last lines above)"
fi
cached=$(grep -c 'Using cache' "$log" || true)
rm -f "$log"
echo "built $ENCODER_IMAGE ($(image_size "$ENCODER_IMAGE"), $cached cached steps) in $(since "$started") s"

# The encoder images this tag pointed at before are now untagged; only they carry the role
# label (the build stages do not), so the layer cache of the next build is kept.
docker image prune -f --filter "label=proxima.role=encoder" >/dev/null || true
