// Package cron decides, purely, which runs of a scheduled job to create:
// given the schedule {cron, timezone, concurrency, startingDeadline}, the last
// scheduled time the caller recorded (in etcd), the current time and the
// active runs, Evaluate returns the runs to create (with ids deterministic
// from their scheduled time, so a new leader after failover neither doubles
// nor loses a run), the runs to kill (Replace) and the missed runs counted.
package cron
