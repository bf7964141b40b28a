// Command gleaner is the single Gleaner binary: scheduler, monitor, executor,
// rootfs tool, job CLI, and the local Mesos for development and tests.
package main
