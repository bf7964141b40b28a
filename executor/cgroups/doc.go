// Package cgroups places tasks in per-task cgroups (v1 or v2, detected) under
// a configurable parent, sets CPU, memory and pids limits, and reads usage and
// OOM kills back. The cgroup root is configurable so tests can use fixtures.
package cgroups
