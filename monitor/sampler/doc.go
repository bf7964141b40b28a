// Package sampler measures a host for the monitor: CPU and memory in use,
// split into batch (the Gleaner task cgroups under their parent, plus the
// executor processes) and business (everything else), read from procfs and
// from cgroup files under configurable procfs, sysfs and cgroup roots.
package sampler
