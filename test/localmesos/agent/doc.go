// Package agent is the agent half of the local Mesos: it registers with a
// link.Master, serves the v1 executor and agent operator APIs on its own
// listener, runs custom executors as child processes (or simulates tasks
// without any process), and forwards reliable status updates until the
// scheduler acknowledges them.
package agent
