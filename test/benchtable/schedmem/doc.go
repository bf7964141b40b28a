// Package schedmem measures what the scheduler process holds around a big
// job: `gleaner mesos-local --simulated`, etcd and `gleaner scheduler` run as
// separate processes, as in production, and the scheduler's whole-process
// RSS (from /proc) and Go heap in use (from the runtime.MemStats its heap
// profile ends with) are read while a large `command: "true"` job runs and
// ten seconds after it ended. `make bench` reports its figures
// (test/benchtable/goals.tsv).
package schedmem
