// Package executor is Gleaner's custom Mesos executor on the v1 executor
// API: it runs each task of a gleanerpb.TaskPayload in a rootfs bundle under
// cgroup limits and reports reliable status updates with a TaskResult.
package executor
