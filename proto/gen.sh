#!/bin/sh
# Regenerates the Go code for proto/*.proto with protoc + protoc-gen-gogofaster.
set -eu
cd "$(dirname "$0")"
protoc -I . -I "$(go env GOMODCACHE)/github.com/gogo/protobuf@v1.3.2/protobuf" \
  --gogofaster_out=paths=source_relative:. ./*.proto
