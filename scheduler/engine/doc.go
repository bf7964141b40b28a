// Package engine is the scheduler's in-memory decision core: which instances
// are pending, which run where (through a Matcher), and how a status update
// changes an attempt. It does no I/O; the framework stores its results
// before acting on them.
package engine
