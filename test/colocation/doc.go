// Package colocation is the co-location benchmark of issue 15 (`make
// colocation`): a latency-sensitive business HTTP service driven by an
// open-loop load that follows a compressed diurnal trace with a spike, beside
// a batch job submitted through the normal path (etcd, `gleaner mesos-local`,
// `gleaner scheduler` with the Gleaner executor, `gleaner monitor`), in four
// scenarios on the same trace: (a) business alone, (b) a static batch share
// without a monitor, (c) the monitor's previous policy, (d) the improved
// policy. It reports business latency percentiles and errors against (a),
// the harvest ratio (batch CPU-seconds over the CPU-seconds business and the
// load generator left idle in (a)), throttle,
// eviction and reservation-change counts and the business memory health, as
// a table, a JSON file and one time-series picture per scenario. An optional
// scenario (e), (d) with one lever changed, measures that lever against (d)
// on the same trace. Scenarios (f) and (g) are the floor: no Gleaner at all,
// the batch job's work as plain processes in one cgroup with cpu.idle = 1
// (SCHED_IDLE), started by the harness (IdleBatch) — the best any
// priority-based policy can do — (g) with that cgroup pinned to the last CPU.
// TestInterference (-colocation.interference N) is a one-minute
// micro-measurement of the business service's CPU time per request alone and
// beside one idle-class co-runner on the other CPU or on its own.
//
// The pure parts (trace, pacing, statistics) are in this package; the
// harness that starts the processes is the test TestColocation.
package colocation
