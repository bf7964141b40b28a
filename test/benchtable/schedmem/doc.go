// Package schedmem measures what the scheduler process holds around a big
// job: `gleaner mesos-local --simulated`, etcd and `gleaner scheduler` run as
// separate processes, as in production, and the scheduler's whole-process
// RSS (from /proc) and Go heap in use (from the runtime.MemStats its heap
// profile ends with) are read while a large `command: "true"` job runs and
// ten seconds after it ended. `make bench` reports its figures
// (test/benchtable/goals.tsv).
//
// The scheduler runs with --memory-limit 160MiB, as an operator expecting
// jobs this big would run it: while the job runs, most of the process's
// growth is garbage the collector would otherwise let reach twice the live
// heap. GLEANER_SCHEDMEM_MEMORY_LIMIT=off runs it without a limit (or with
// another, e.g. 256MiB); GLEANER_BIN measures another build.
package schedmem
