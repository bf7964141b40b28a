// Package throttle caps the CPU of all batch work on a host by writing the
// CFS quota of the batch parent cgroup (cgroup v1 cpu.cfs_quota_us, v2
// cpu.max), and lifts the cap again.
package throttle
