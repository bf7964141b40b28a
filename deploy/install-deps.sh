#!/bin/sh
# Installs what building and testing Gleaner needs on a Debian machine:
# protoc and the gogofaster plugin (make proto), etcd-server (tests against a
# real etcd), busybox-static (the tiny rootfs of the executor tests), chromium
# (the web UI tests in test/ui, headless).
# Idempotent and quiet when everything is already there.
set -eu
missing=""
command -v protoc >/dev/null 2>&1 || missing="$missing protobuf-compiler"
[ -x /usr/bin/etcd ] || missing="$missing etcd-server"
[ -x /bin/busybox ] || missing="$missing busybox-static"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q >/dev/null
  # etcd-server starts a system service on install on some hosts; tests run their own.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >/dev/null
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now etcd >/dev/null 2>&1 || true; fi
fi
GOBIN="$(go env GOPATH)/bin"
if [ ! -x "$GOBIN/protoc-gen-gogofaster" ] && ! command -v protoc-gen-gogofaster >/dev/null 2>&1; then
  echo "installing protoc-gen-gogofaster"
  go install github.com/gogo/protobuf/protoc-gen-gogofaster@v1.3.2
fi
