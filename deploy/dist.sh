#!/bin/sh
# make dist: package bin/gleaner (static) with its config, systemd units and the
# INSTALL.md runbook into dist/gleaner-<version>-linux-<arch>.tar.gz, with a
# SHA256SUMS inside (every file of the release) and one beside it (the tarball).
# The version is the argument, else `git describe --tags --always --dirty` (a
# release tag such as v1.2.0 gives gleaner-v1.2.0-...); the binary must report
# the same version. The tarball installs into one directory (default
# /opt/gleaner) with its install.sh and touches nothing else.
set -eu
cd "$(dirname "$0")/.."
version="${1:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
arch="$(go env GOARCH)"
name="gleaner-$version-linux-$arch"
out="${DIST_DIR:-dist}"
bin="${GLEANER_BIN:-bin/gleaner}"
[ -x "$bin" ] || { echo "dist: $bin missing; run make build" >&2; exit 1; }
if command -v file >/dev/null 2>&1 && file "$bin" | grep -q 'dynamically linked'; then
  echo "dist: $bin is dynamically linked; build with CGO_ENABLED=0" >&2; exit 1
fi
built="$("$bin" version 2>/dev/null || true)"
if [ "$built" != "$version" ]; then
  echo "dist: $bin reports version '$built', not '$version'; rebuild it (make build VERSION=$version)" >&2; exit 1
fi
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin" "$root/etc" "$root/systemd" "$root/var"
cp "$bin" "$root/bin/gleaner"
# the slim executor build beside the main binary: etc/scheduler.env runs it
[ -x "$(dirname "$bin")/gleaner-executor" ] || { echo "dist: $(dirname "$bin")/gleaner-executor missing; run make build" >&2; exit 1; }
cp "$(dirname "$bin")/gleaner-executor" "$root/bin/"
# the slim monitor build (same flags as `gleaner monitor`, half its resident
# memory on the business host): systemd/gleaner-monitor.service runs it
[ -x "$(dirname "$bin")/gleaner-monitor" ] || { echo "dist: $(dirname "$bin")/gleaner-monitor missing; run make build" >&2; exit 1; }
cp "$(dirname "$bin")/gleaner-monitor" "$root/bin/"
cp deploy/etc/*.env "$root/etc/"
cp deploy/systemd/*.service "$root/systemd/"
cp deploy/install.sh "$root/install.sh"
cp deploy/INSTALL.md "$root/INSTALL.md"
# shell completion scripts, from the binary itself (INSTALL.md says where they go)
mkdir -p "$root/completion"
for sh in bash zsh fish; do "$bin" completion "$sh" > "$root/completion/gleaner.$sh"; done
chmod 0755 "$root/install.sh" "$root"/bin/*
# checksums of every file in the release: verify with `sha256sum -c SHA256SUMS` inside it
(cd "$root" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | sed 's#^\./##' | xargs sha256sum > SHA256SUMS)
mkdir -p "$out"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00Z' \
  -czf "$out/$name.tar.gz" "$name"
# the tarball's checksum beside it: verify with `sha256sum -c SHA256SUMS` in the dist directory
(cd "$out" && { grep -v " $name.tar.gz\$" SHA256SUMS 2>/dev/null || true; sha256sum "$name.tar.gz"; } > SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS)
echo "$out/$name.tar.gz"
