#!/usr/bin/env bash
# images/build.sh builds the TelcoTraffic task images with buildah, daemonless and rootless-
# friendly (chroot isolation, vfs storage), from scratch: no base image, no registry.
#
#   images/build.sh [--tag TAG] [--smoke] [--no-cache] [--push REGISTRY] [--save DIR] [--prebuilt NAME=PATH]... [NAME...]
#
# NAME is one of: generate train evaluate register promote score forecast driftcheck report pipeline
# beam-worker-pool. Without names: all of them; an image whose Go main is missing is an error
# (the DAG tests check that every image a DAG names is in this list). Each image is
#   localhost/telcotraffic/NAME:TAG  from  images/NAME.Containerfile
# and its build context is a root filesystem assembled here (a "rootfs made locally"):
#   /usr/local/bin/NAME           the Go program (go build -trimpath; static unless it needs cgo)
#   /lib*/..., /usr/lib/...       cgo programs only: every shared library `ldd` lists (libxgboost,
#                                 libdmlc, libgomp, libstdc++, libgcc_s, libm, libc) and the
#                                 dynamic loader, copied from this machine (Debian's libxgboost-dev)
#   /etc/ssl/certs/ca-certificates.crt   TLS roots for S3 and MLflow over https
#   /etc/passwd, /etc/group       user and group 65532 "nonroot" (the images run as it)
#   /tmp (1777), /airflow/xcom    scratch space and the KubernetesPodOperator XCom mount point
# A program needs cgo when a non-standard package it imports has cgo files (tasks/internal/xgb):
# that is detected with `go list -deps`, not hard-coded. cgo builds use -tags netgo,osusergo so
# DNS and user lookups stay in Go (no NSS modules to ship).
#
# Options:
#   --tag TAG        image tag (default: $IMAGE_TAG or 0.1.0; the DAGs' TT_IMAGE_TAG must match)
#   --smoke          after building, `buildah run IMAGE --help` (chroot isolation, as the image's
#                    user 65532): proves the program starts in the image (loader and shared
#                    libraries present) and prints its flags; a task image must list --xcom
#                    (the task contract)
#   --no-cache       build and smoke-test even when the image is up to date (see Caching)
#   --push REGISTRY  also push to REGISTRY/NAME:TAG (e.g. registry.telco.internal/telcotraffic)
#   --save DIR       also write DIR/NAME-TAG.oci.tar (oci-archive) for a registry-less hand-over
#   --prebuilt NAME=PATH  package the binary at PATH instead of building NAME from source
# Caching: the programs are always built (`go build` reuses its own cache), then the staged
# root filesystem (binaries, shared libraries, CA roots, passwd), the Containerfile and the tag
# are hashed (sha256) into the image label io.telcotraffic.rootfs-sha256. An image whose label
# matches is not rebuilt, and one whose image ID passed the smoke test (a stamp under
# $TELCO_CACHE/images/smoked) is not smoke-tested again: an unchanged tree costs the go builds.
# Environment: BUILDAH_ROOT / BUILDAH_RUNROOT (storage; default under ~/.cache/telcotraffic),
# GO (default go), TELCO_CACHE.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
CACHE="${TELCO_CACHE:-$HOME/.cache/telcotraffic}"
GO="${GO:-go}"
TAG="${IMAGE_TAG:-0.1.0}"
SMOKE=0
CACHED=1
PUSH=""
SAVE=""
declare -A PREBUILT=()
ALL=(generate train evaluate register promote score forecast driftcheck report pipeline beam-worker-pool)

while (($#)); do
  case "$1" in
    --tag) TAG="$2"; shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    --no-cache) CACHED=0; shift ;;
    --push) PUSH="${2%/}"; shift 2 ;;
    --save) SAVE="$2"; shift 2 ;;
    --prebuilt) PREBUILT["${2%%=*}"]="${2#*=}"; shift 2 ;;
    -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
    -*) echo "build.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
explicit=$#
names=("$@")
((explicit)) || names=("${ALL[@]}")

command -v buildah >/dev/null || { echo "build.sh: buildah missing (Debian: apt-get install buildah)" >&2; exit 1; }
ROOT="${BUILDAH_ROOT:-$CACHE/containers/storage}"
RUNROOT="${BUILDAH_RUNROOT:-$CACHE/containers/run}"
BUILDAH=(buildah --root "$ROOT" --runroot "$RUNROOT" --storage-driver vfs)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tt-images.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
STAMPS="$CACHE/images/smoked"
mkdir -p "$STAMPS"
LABEL_HASH=io.telcotraffic.rootfs-sha256

# Go package of an image's program ("" = not a Go program of ours).
pkg_of() {
  case "$1" in
    pipeline) echo "./beam/cmd/pipeline" ;;
    beam-worker-pool) echo "github.com/apache/beam/sdks/v2/go/container" ;;
    *) echo "./tasks/$1" ;;
  esac
}
bin_of() { [[ $1 == beam-worker-pool ]] && echo boot || echo "$1"; }
bindir_of() { [[ $1 == beam-worker-pool ]] && echo /opt/apache/beam || echo /usr/local/bin; }

has_main() { # pkg
  [[ $1 != ./* ]] && return 0
  compgen -G "$repo/${1#./}/*.go" >/dev/null
}

needs_cgo() { # pkg
  local l
  l=$(cd "$repo" && "$GO" list -deps -f '{{if and (not .Standard) .CgoFiles}}{{.ImportPath}}{{end}}' "$1")
  [[ -n $l ]]
}

# Copies a dynamically linked binary's shared libraries and loader into rootfs (same paths).
copy_libs() { # binary rootfs
  local bin=$1 rootfs=$2 lib
  if ! ldd "$bin" >/dev/null 2>&1; then return 0; fi   # static: nothing to copy
  while read -r lib; do
    [[ -n $lib && -e $lib ]] || continue
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
    echo "build.sh:   + $lib" >&2
  done < <(ldd "$bin" | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]+ \(/{print $1}')
}

stage() { # name -> prints context dir
  local name=$1 pkg bin dir ctx rootfs cgo=0
  pkg=$(pkg_of "$name"); bin=$(bin_of "$name"); dir=$(bindir_of "$name")
  ctx="$WORK/$name"; rootfs="$ctx/rootfs"
  mkdir -p "$rootfs$dir" "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/airflow/xcom"
  chmod 1777 "$rootfs/tmp"; chmod 0777 "$rootfs/airflow/xcom"
  if [[ -n ${PREBUILT[$name]:-} ]]; then
    cp "${PREBUILT[$name]}" "$rootfs$dir/$bin"
    echo "build.sh: $name: prebuilt ${PREBUILT[$name]}" >&2
  else
    needs_cgo "$pkg" && cgo=1
    echo "build.sh: $name: go build $pkg (cgo=$cgo)" >&2
    if ((cgo)); then
      (cd "$repo" && CGO_ENABLED=1 "$GO" build -trimpath -tags netgo,osusergo -ldflags "-s -w" -o "$rootfs$dir/$bin" "$pkg") ||
        { echo "build.sh: $name: go build $pkg failed" >&2; return 1; }
    else
      (cd "$repo" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o "$rootfs$dir/$bin" "$pkg") ||
        { echo "build.sh: $name: go build $pkg failed" >&2; return 1; }
    fi
  fi
  copy_libs "$rootfs$dir/$bin" "$rootfs"
  cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
  echo "$ctx"
}

# sha256 of what goes into an image: every file of the staged rootfs (path, mode, content),
# the Containerfile and the tag.
rootfs_hash() { # name ctx
  local name=$1 ctx=$2
  {
    (cd "$ctx/rootfs" && find . -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
      if [[ -f $f ]]; then printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
      else printf '%s %s\n' "$f" "$(stat -c %a "$f")"; fi
    done)
    sha256sum <"$here/$name.Containerfile"
    echo "tag $TAG"
  } | sha256sum | cut -d' ' -f1
}

# Label value / image ID of an existing image ("" when there is none).
image_label() { "${BUILDAH[@]}" inspect --type image --format "{{index .OCIv1.Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }
image_id() { "${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null || true; }

built=()
cached=()
for name in "${names[@]}"; do
  [[ -f "$here/$name.Containerfile" ]] || { echo "build.sh: no images/$name.Containerfile" >&2; exit 1; }
  pkg=$(pkg_of "$name")
  if [[ -z ${PREBUILT[$name]:-} ]] && ! has_main "$pkg"; then
    echo "build.sh: $name: $pkg has no Go files (an image of a program that does not exist)" >&2; exit 1
  fi
  t0=$(date +%s)
  ctx=$(stage "$name") || exit 1
  [[ -x "$ctx/rootfs$(bindir_of "$name")/$(bin_of "$name")" ]] || { echo "build.sh: $name: no binary" >&2; exit 1; }
  ref="localhost/telcotraffic/$name:$TAG"
  hash=$(rootfs_hash "$name" "$ctx")
  if ((CACHED)) && [[ $(image_label "$ref" "$LABEL_HASH") == "$hash" ]]; then
    echo "build.sh: $ref up to date (rootfs sha256 ${hash:0:12}), go build ${name} in $(( $(date +%s) - t0 ))s" >&2
    cached+=("$name")
  else
    "${BUILDAH[@]}" bud --isolation chroot --layers=false --quiet \
      --label "org.opencontainers.image.version=$TAG" --label "$LABEL_HASH=$hash" \
      -f "$here/$name.Containerfile" -t "$ref" "$ctx" >/dev/null
    size=$(du -sh "$ctx/rootfs" | cut -f1)
    echo "build.sh: built $ref (rootfs $size, sha256 ${hash:0:12}) in $(( $(date +%s) - t0 ))s" >&2
    built+=("$name")
  fi
  if ((SMOKE)); then
    id=$(image_id "$ref")
    stamp="$STAMPS/$name-$TAG"
    if ((CACHED)) && [[ -n $id && -f $stamp && $(<"$stamp") == "$id" ]]; then
      echo "build.sh: smoke $ref: passed before for image ${id:0:12}" >&2
    else
      rm -f "$stamp"
      ctr=$("${BUILDAH[@]}" from --quiet "$ref")
      out=$("${BUILDAH[@]}" run --isolation chroot "$ctr" -- "$(bindir_of "$name")/$(bin_of "$name")" --help 2>&1) && rc=0 || rc=$?
      "${BUILDAH[@]}" rm "$ctr" >/dev/null
      # Go's flag package exits 0 on --help (2 for programs that parse flags by hand).
      if ((rc != 0 && rc != 2)) || ! grep -qi -- "usage\|-help\|flags" <<<"$out"; then
        echo "build.sh: smoke $ref failed (exit $rc):" >&2; echo "$out" >&2; exit 1
      fi
      # Every task program takes --xcom (the task contract); Beam's boot does not.
      if [[ $name != beam-worker-pool ]] && ! grep -q -- "^  -xcom" <<<"$out"; then
        echo "build.sh: smoke $ref: its usage lists no -xcom:" >&2; echo "$out" >&2; exit 1
      fi
      echo "$id" >"$stamp"
      echo "build.sh: smoke $ref --help in the image: exit $rc, $(wc -l <<<"$out") lines of usage" >&2
    fi
  fi
  if [[ -n $PUSH ]]; then "${BUILDAH[@]}" push "$ref" "docker://$PUSH/$name:$TAG"; fi
  if [[ -n $SAVE ]]; then mkdir -p "$SAVE"; "${BUILDAH[@]}" push "$ref" "oci-archive:$SAVE/$name-$TAG.oci.tar"; fi
done
smoked=""
((SMOKE)) && smoked="; each smoke-tested in its image"
echo "images: built ${built[*]:-none}; up to date ${cached[*]:-none}$smoked"
