#!/bin/sh
# make demo: run everything in one process (`gleaner dev`: embedded etcd, a
# local Mesos with 3 agents speaking the real v1 APIs, the scheduler), submit the
# example jobs and watch them run, then stop. Logs: .work/demo/dev.log.
set -eu
cd "$(dirname "$0")/.."
bin=bin/gleaner
api_addr=127.0.0.1:${GLEANER_DEMO_PORT:-8470}
export GLEANER_API="http://$api_addr"
work=.work/demo
# Fail loudly when something already answers on the API port: the health
# check below would otherwise talk to it, and the demo run against it.
port_rc=0
curl -sS --max-time 3 -o /dev/null "$GLEANER_API/" 2>/dev/null || port_rc=$?
if [ "$port_rc" -ne 7 ]; then
  echo "demo: $api_addr is already in use (something answered there); stop it or pick another port: GLEANER_DEMO_PORT=8480 make demo" >&2
  exit 1
fi

rm -rf "$work" && mkdir -p "$work"
# The API needs a token: gleaner dev writes its admin token where the CLI looks by default
# ($XDG_CONFIG_HOME/gleaner/token); a demo-local config dir keeps the user's own token untouched.
export XDG_CONFIG_HOME="$PWD/$work/config"
unset GLEANER_TOKEN

# The bundle the examples name (examples/volumes.yaml, examples/compose/images.yaml):
# a busybox rootfs at a fixed path, and the host directories volumes.yaml mounts.
demo_bundles=/var/tmp/gleaner-demo/bundles
demo_bundle=$demo_bundles/busybox.tar.gz
demo_nas=/var/tmp/gleaner-demo/nas
mkdir -p "$demo_bundles" "$demo_nas/input" "$demo_nas/output"
if [ "$(stat -c %u /var/tmp/gleaner-demo)" != "$(id -u)" ]; then
  echo "demo: /var/tmp/gleaner-demo belongs to someone else; remove it (its bundles would run in tasks)" >&2
  exit 1
fi
chmod 0755 /var/tmp/gleaner-demo "$demo_bundles" "$demo_nas" "$demo_nas/input"
chmod 0777 "$demo_nas/output"

echo "== starting gleaner dev (etcd + local Mesos + scheduler; tasks run under the Gleaner executor)"
"$bin" dev --listen "$api_addr" --data-dir "$PWD/$work/data" --executor-path "$PWD/$bin" >"$work/dev.log" 2>&1 &
dev_pid=$!
trap 'kill $dev_pid 2>/dev/null; wait $dev_pid 2>/dev/null || true' EXIT INT TERM
i=0
until curl -fsS "$GLEANER_API/healthz" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 300 ] || ! kill -0 $dev_pid 2>/dev/null; then
    echo "gleaner dev did not come up; its log:" >&2; cat "$work/dev.log" >&2; exit 1
  fi
  sleep 0.1
done
if ! kill -0 $dev_pid 2>/dev/null; then
  echo "gleaner dev exited, yet $GLEANER_API answered: another process holds the port; its log:" >&2; cat "$work/dev.log" >&2; exit 1
fi
head -n 5 "$work/dev.log"

status=0
for job in examples/etl.yaml examples/diamond.yaml examples/diamond-expr.yaml examples/loop.yaml; do
  echo
  echo "== gleaner job submit -f $job --watch"
  "$bin" job submit -f "$job" --watch || status=1
done
echo
echo "== gleaner job submit -f examples/retry.yaml --watch   (fails on purpose: a command that exits 3, retried twice)"
if "$bin" job submit -f examples/retry.yaml --watch; then
  echo "retry.yaml was expected to fail" >&2; status=1
fi
echo
echo "== gleaner job submit -f examples/compose/docker-compose.yml --unmapped-host --watch   (s1 ×10, then s2 ×4)"
"$bin" job submit -f examples/compose/docker-compose.yml --unmapped-host --watch || status=1
echo
echo "== gleaner rootfs build: a busybox bundle, then a job chrooted in it (the task sees only the bundle)"
mkdir -p "$work/base/bin" "$work/base/etc" "$work/bundles"
cp /bin/busybox "$work/base/bin/busybox"
for c in sh cat cp ls echo id; do ln -sf busybox "$work/base/bin/$c"; done
echo 'NAME="Gleaner demo bundle (busybox)"' > "$work/base/etc/os-release"
"$bin" rootfs build --base "$work/base" --out "$work/busybox.tar.gz" --json > "$work/bundle.json"
digest=$(sed -n 's/.*"digest": *"\(sha256:[0-9a-f]*\)".*/\1/p' "$work/bundle.json")
published=$("$bin" rootfs publish "$work/busybox.tar.gz" --to "file://$PWD/$work/bundles/" | awk '{print $2}')
echo "published $digest as $published"
cp "$work/busybox.tar.gz" "$demo_bundle.new" && chmod 0644 "$demo_bundle.new" && mv "$demo_bundle.new" "$demo_bundle"
echo "and as file://$demo_bundle, the bundle examples/volumes.yaml and examples/compose/images.yaml name"
cat > "$work/chrooted.yaml" <<YAML
name: chrooted
tasks:
  - name: inside
    command: "cat /etc/os-release; echo 'root dir:'; ls /; echo 'running as uid' \$(id -u)"
    bundle: {uri: "$published", digest: "$digest"}
    resources: {cpus: 0.2, mem: 32}
    instances: 2
YAML
"$bin" job submit -f "$work/chrooted.yaml" --watch 2>&1 | tee "$work/chrooted.out"
grep -q succeeded "$work/chrooted.out" || status=1
chrooted=$(sed -n 's/^submitted //p' "$work/chrooted.out")
echo
echo "== gleaner job logs $chrooted inside/0   (what the chrooted task printed)"
"$bin" job logs "$chrooted" inside/0 || status=1
echo
echo "== gleaner job submit -f examples/volumes.yaml --watch   (host directories mounted into the bundle's rootfs)"
echo "hello from the host" > "$demo_nas/input/hello.txt"
rm -f "$demo_nas/output/hello.txt"
# as it is: the CLI pins the file:// bundle, which has no digest in the file, to this host's build
"$bin" job submit -f examples/volumes.yaml --watch || status=1
if ! grep -q "hello from the host" "$demo_nas/output/hello.txt" 2>/dev/null; then
  echo "volumes.yaml did not copy $demo_nas/input/hello.txt to $demo_nas/output/" >&2; status=1
fi
echo
echo "== gleaner agent list   (live attributes in etcd, one monitor heartbeat per agent)"
i=0
until [ "$("$bin" agent list | grep -c ' ok ')" -ge 3 ] || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done
"$bin" agent list || status=1
echo
echo "== gleaner job list"
"$bin" job list
exit $status
