// Package cmdexec is the local Mesos command executor: it runs one task's
// CommandInfo as a child process and talks to its agent over the real v1
// executor HTTP API with mesos-go's httpexec, as Mesos' mesos-executor does.
package cmdexec
