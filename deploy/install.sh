#!/bin/sh
# Installs this Gleaner release into one directory (default /opt/gleaner):
# bin/, etc/, systemd/ and var/ (state and logs). Nothing outside that directory
# is touched. To run a service: systemctl link <dir>/systemd/gleaner-<name>.service
# and systemctl enable --now gleaner-<name>. To uninstall: stop the services,
# systemctl disable them, and delete the directory.
set -eu
prefix="${1:-/opt/gleaner}"
here="$(cd "$(dirname "$0")" && pwd)"
case "$prefix" in /*) ;; *) echo "install: prefix must be an absolute path: $prefix" >&2; exit 2 ;; esac
mkdir -p "$prefix/bin" "$prefix/etc" "$prefix/systemd" "$prefix/var"
for b in "$here"/bin/*; do
  cp "$b" "$prefix/bin/$(basename "$b").new" && mv "$prefix/bin/$(basename "$b").new" "$prefix/bin/$(basename "$b")"
done
for f in "$here"/etc/*.env; do
  # keep an operator's edited config; paths in it point into the prefix
  [ -e "$prefix/etc/$(basename "$f")" ] || sed "s#@PREFIX@#$prefix#g" "$f" > "$prefix/etc/$(basename "$f")"
done
for f in "$here"/systemd/*.service; do
  sed "s#@PREFIX@#$prefix#g" "$f" > "$prefix/systemd/$(basename "$f")"
done
echo "installed gleaner into $prefix"
echo "enable a service with: systemctl link $prefix/systemd/gleaner-scheduler.service && systemctl enable --now gleaner-scheduler"
