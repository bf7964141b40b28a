#!/bin/sh
# Installs what building and testing Gleaner needs on a Debian machine:
# protoc and the gogofaster plugin (make proto), etcd-server (tests against a
# real etcd), busybox-static (the tiny rootfs of the executor tests), chromium
# (the web UI tests in test/ui, headless), prometheus (promtool checks and
# unit-tests deploy/prometheus/alerts.yml).
# Idempotent and quiet when everything is already there.
set -eu
missing=""
command -v protoc >/dev/null 2>&1 || missing="$missing protobuf-compiler"
[ -x /usr/bin/etcd ] || missing="$missing etcd-server"
[ -x /bin/busybox ] || missing="$missing busybox-static"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q >/dev/null
  # etcd-server (and prometheus) start system services on install on some hosts; tests run their own.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >/dev/null
  if command -v systemctl >/dev/null 2>&1; then
    for unit in etcd prometheus prometheus-node-exporter; do $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true; done
  fi
fi
GOBIN="$(go env GOPATH)/bin"
if [ ! -x "$GOBIN/protoc-gen-gogofaster" ] && ! command -v protoc-gen-gogofaster >/dev/null 2>&1; then
  echo "installing protoc-gen-gogofaster"
  go install github.com/gogo/protobuf/protoc-gen-gogofaster@v1.3.2
fi
