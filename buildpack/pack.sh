#!/usr/bin/env bash
# pack.sh DIST VERSION SOURCE_DATE_EPOCH: writes DIST/parapet-buildpack.tgz,
# this buildpack pinned to the release binaries in DIST (their SHA256SUMS and
# the release's download URL), reproducibly (sorted, owned by root, the
# commit's time on every file). Called by make dist.
set -euo pipefail
dist=${1:?dist dir}
version=${2:?version}
epoch=${3:?source date epoch}
url=${PARAPET_RELEASE_BASE:-https://github.com/parapet-waf/parapet/releases/download}/$version
here=$(cd "$(dirname "$0")" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
mkdir -p "$stage/bin"
cp "$here/bin/detect" "$here/bin/compile" "$here/bin/release" "$stage/bin/"
cp "$here/README.md" "$stage/"
grep ' parapet-linux-' "$dist/SHA256SUMS" >"$stage/SHA256SUMS"
printf 'PARAPET_RELEASE_VERSION=%q\nPARAPET_RELEASE_URL=%q\n' "$version" "$url" >"$stage/release.env"
chmod 0755 "$stage/bin/"*
find "$stage" -exec touch -h -d "@$epoch" {} +
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$stage" -cf - . | gzip -9n >"$dist/parapet-buildpack.tgz"
