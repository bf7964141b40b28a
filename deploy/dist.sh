#!/bin/sh
# make dist: package bin/gleaner (static) with its config and systemd units into
# dist/gleaner-<version>-linux-<arch>.tar.gz. The tarball installs into one
# directory (default /opt/gleaner) with its install.sh and touches nothing else.
set -eu
cd "$(dirname "$0")/.."
version="${1:-dev}"
arch="$(go env GOARCH)"
name="gleaner-$version-linux-$arch"
out="${DIST_DIR:-dist}"
bin="${GLEANER_BIN:-bin/gleaner}"
[ -x "$bin" ] || { echo "dist: $bin missing; run make build" >&2; exit 1; }
if command -v file >/dev/null 2>&1 && file "$bin" | grep -q 'dynamically linked'; then
  echo "dist: $bin is dynamically linked; build with CGO_ENABLED=0" >&2; exit 1
fi
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin" "$root/etc" "$root/systemd" "$root/var"
cp "$bin" "$root/bin/gleaner"
# the slim executor build beside the main binary: etc/scheduler.env runs it
[ -x "$(dirname "$bin")/gleaner-executor" ] || { echo "dist: $(dirname "$bin")/gleaner-executor missing; run make build" >&2; exit 1; }
cp "$(dirname "$bin")/gleaner-executor" "$root/bin/"
cp deploy/etc/*.env "$root/etc/"
cp deploy/systemd/*.service "$root/systemd/"
cp deploy/install.sh "$root/install.sh"
chmod 0755 "$root/install.sh" "$root"/bin/*
mkdir -p "$out"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00Z' \
  -czf "$out/$name.tar.gz" "$name"
echo "$out/$name.tar.gz"
