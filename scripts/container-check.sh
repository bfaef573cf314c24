#!/usr/bin/env bash
# Builds naslid's CPU image from containers/Dockerfile and checks it, with no container registry and
# no container engine service: a Debian bookworm base made here by mmdebstrap (from the Debian mirror
# apt is configured with), the image built by buildah (chroot isolation, vfs storage), then inside
# the image `naslid --help` and the tiny workflow (.test/tiny/, `snakemake --cores 2`), whose
# split JSONs and tables are compared byte for byte with the same run on the host.
#
#   scripts/container-check.sh                     # as root (apt-get, mmdebstrap, buildah); .ci/run runs it
#   scripts/container-check.sh --build-only cuda   # only build that variant; print its size and versions
#
# The image installs from the package index the host's pip is configured with (PIP_INDEX_URL,
# PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS and the CA bundle PIP_CERT, from the environment, else from
# `pip config`), passed as build arguments; local ones (file:// URLs, directories, the CA bundle)
# are bind-mounted read-only into the build at the same path. Set
# those variables to point the check at another index. The host run uses the repository's .venv
# (`make setup`), or NASLID_HOST_VENV. Everything it makes lies under one temporary directory in
# /var/tmp (NASLID_CHECK_TMP), removed on exit; a failure ends in one line naming the failed step.
set -euo pipefail
BUILD_ONLY=""
if [ $# -gt 0 ]; then
    [ $# = 2 ] && [ "$1" = --build-only ] && [[ $2 =~ ^(cpu|cuda)$ ]] || {
        echo "container-check: usage: container-check.sh [--build-only cpu|cuda]" >&2; exit 2; }
    BUILD_ONLY=$2
fi

REPO=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d "${NASLID_CHECK_TMP:-/var/tmp}/naslid-container-check.XXXXXX")
STEP="start"
START=$SECONDS

step() {
    STEP=$1
    echo "== container-check [$((SECONDS - START)) s]: $STEP"
}

finish() {
    local rc=$?
    set +e  # clean up all of it, whatever fails here
    [ -z "${HOST_PID:-}" ] || kill -- "-$HOST_PID" 2>/dev/null
    [ -z "${CTR:-}" ] || bah rm "$CTR" >/dev/null 2>&1
    rm -rf "$TMP"
    if [ "$rc" -ne 0 ]; then
        echo "container-check: FAILED at step '$STEP' (exit $rc, after $((SECONDS - START)) s); its output is above" >&2
    fi
}
trap finish EXIT

# buildah with its own storage under $TMP: nothing of the host's container storage is touched.
bah() {
    buildah --storage-driver vfs --root "$TMP/storage" --runroot "$TMP/run" "$@"
}

step "install buildah and mmdebstrap (apt-get)"
if ! command -v buildah >/dev/null || ! command -v mmdebstrap >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "container-check: needs root to install buildah and mmdebstrap" >&2; exit 1; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah mmdebstrap >/dev/null
fi

step "host environment (make setup)"
if [ -n "${NASLID_HOST_VENV:-}" ]; then
    VENV=$NASLID_HOST_VENV
else
    make -C "$REPO" -s setup
    VENV=$REPO/.venv
fi

# The tiny workflow's directory: the workflow, the configs, naslid's code (rules read its files), the
# config and its 12-architecture ground-truth table.
workdir() {
    mkdir -p "$1"
    cp -r "$REPO/workflow" "$REPO/config" "$1/"
    (cd "$REPO" && find naslid -name '*.py' -exec cp --parents {} "$1/" \;)
    cp "$REPO/.test/tiny/tiny.yaml" "$REPO/.test/tiny/table.csv" "$1/"
}

# The host's run of the tiny workflow goes on while the image builds (the build mostly copies files and
# downloads; the workflow computes). Its own session, so that a failure elsewhere ends all of it.
step "start the tiny workflow on the host (snakemake --cores 2, in the background)"
workdir "$TMP/host"
[ -n "$BUILD_ONLY" ] || setsid bash -c 'cd "$1" && t0=$SECONDS && PATH=$2/bin:$PATH snakemake --cores 2 --configfile tiny.yaml >../host.log 2>&1 \
    && echo $((SECONDS - t0)) >../host.seconds' _ "$TMP/host" "$VENV" &
[ -n "$BUILD_ONLY" ] || HOST_PID=$!

# The host's pip index settings, environment first (as pip reads them), then pip's config files.
pip_setting() {
    local var=$1 key=$2 value
    value=${!var:-}
    [ -n "$value" ] || value=$("$VENV/bin/pip" config get "global.$key" 2>/dev/null || true)
    echo "$value"
}
BUILD_ARGS=()
MOUNTS=()
for setting in PIP_INDEX_URL:index-url PIP_EXTRA_INDEX_URL:extra-index-url PIP_FIND_LINKS:find-links PIP_CERT:cert; do
    var=${setting%%:*}
    value=$(pip_setting "$var" "${setting#*:}")
    [ -n "$value" ] || continue
    BUILD_ARGS+=(--build-arg "$var=$value")
    for entry in $value; do
        path=${entry#file://}
        [ "${path:0:1}" = / ] || continue
        # an index's pages link to files beside it (../../files): mount the index's parent directory
        case $var in *INDEX_URL) path=$(dirname "$path") ;; esac
        MOUNTS+=(--volume "$path:$path:ro")
    done
done
echo "pip settings passed to the build: ${BUILD_ARGS[*]:-none (the default index)}"

step "Debian bookworm base (mmdebstrap)"
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
t0=$SECONDS
mmdebstrap --quiet --variant=minbase --include=python3,python3-venv bookworm "$TMP/rootfs.tar" "$sources"
CTR=$(bah from scratch)
bah add --quiet "$CTR" "$TMP/rootfs.tar" / >/dev/null
bah commit --quiet "$CTR" localhost/naslid-base:bookworm >/dev/null
bah rm "$CTR" >/dev/null
CTR=""
rm "$TMP/rootfs.tar"
echo "base image: $((SECONDS - t0)) s"

if [ -n "$BUILD_ONLY" ]; then
    step "build the $BUILD_ONLY image from containers/Dockerfile (build only)"
    t0=$SECONDS
    bah build --isolation chroot --file "$REPO/containers/Dockerfile" --tag "localhost/naslid:$BUILD_ONLY" \
        --build-arg BASE=localhost/naslid-base:bookworm --build-arg "TORCH=$BUILD_ONLY" \
        "${BUILD_ARGS[@]}" "${MOUNTS[@]}" "$REPO" 2>&1 | tail -n 15
    echo "image built in $((SECONDS - t0)) s; size: $(bah images --format '{{.Size}}' "localhost/naslid:$BUILD_ONLY")"
    CTR=$(bah from --quiet "localhost/naslid:$BUILD_ONLY")
    bah run --isolation chroot "$CTR" -- python -c "import sys, torch; print('image: Python', sys.version.split()[0], '| torch', torch.__version__, '| CUDA', torch.version.cuda, '| cuDNN', torch.backends.cudnn.version())"
    exit 0
fi
step "build the CPU image from containers/Dockerfile"
t0=$SECONDS
bah build --isolation chroot --file "$REPO/containers/Dockerfile" --tag localhost/naslid:cpu \
    --build-arg BASE=localhost/naslid-base:bookworm --build-arg TORCH=cpu \
    "${BUILD_ARGS[@]}" "${MOUNTS[@]}" "$REPO" 2>&1 | tail -n 15
echo "image built in $((SECONDS - t0)) s; size: $(bah images --format '{{.Size}}' localhost/naslid:cpu)"

step "naslid --help inside the image"
CTR=$(bah from --quiet localhost/naslid:cpu)
help=$(bah run --isolation chroot "$CTR" -- naslid --help)
grep -q pretrain <<<"$help" || { echo "naslid --help in the image does not list the stages:"; echo "$help"; exit 1; }
bah run --isolation chroot "$CTR" -- python -c "import sys, torch; print('image: Python', sys.version.split()[0], '| torch', torch.__version__, '| CUDA', torch.version.cuda)"

step "tiny workflow inside the image (snakemake --cores 2, as the image's user)"
workdir "$TMP/image"
chown -R 1000:1000 "$TMP/image"
t0=$SECONDS
bah run --isolation chroot --volume "$TMP/image:/work" --workingdir /work "$CTR" -- \
    snakemake --cores 2 --configfile tiny.yaml >"$TMP/image.log" 2>&1 || { tail -n 40 "$TMP/image.log"; exit 1; }
echo "image: $(grep -o '[0-9]* of [0-9]* steps (100%) done' "$TMP/image.log"), $((SECONDS - t0)) s"

step "wait for the tiny workflow on the host"
wait "$HOST_PID" || { tail -n 40 "$TMP/host.log"; exit 1; }
HOST_PID=""
echo "host:  $(grep -o '[0-9]* of [0-9]* steps (100%) done' "$TMP/host.log"), $(cat "$TMP/host.seconds") s (beside the image's build)"

step "compare the split JSONs and tables, image vs host"
# Split JSONs and the benchmark tables (2, 3, 5) must be byte-identical; Table 1 holds measured cost
# (seconds, peak memory), which differs between any two runs, so it is reported, not required.
differ=0
while read -r file; do
    if cmp -s "$TMP/image/$file" "$TMP/host/$file"; then
        echo "  identical  $file"
    elif [[ $file == */table1.* ]]; then
        echo "  differs    $file  (measured time and memory: expected)"
    else
        echo "  DIFFERS    $file"
        diff "$TMP/image/$file" "$TMP/host/$file" | head -n 10 || true
        differ=1
    fi
done < <(cd "$TMP/host" && find results \( -path '*/split/*.json' -o -path '*/tables/*' \) -type f | sort)
[ "$differ" = 0 ] || { echo "the image's results differ from the host's"; exit 1; }
STEP="done"
echo "container-check: passed in $((SECONDS - START)) s"
