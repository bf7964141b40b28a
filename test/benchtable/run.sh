#!/bin/sh
# make bench: run the headline benchmarks and print one table.
set -eu
cd "$(dirname "$0")/../.."
exec go run ./test/benchtable -goals test/benchtable/goals.tsv "$@"
