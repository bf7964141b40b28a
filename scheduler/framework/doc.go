// Package framework is Gleaner's Mesos framework: mesos-go's controller and
// rules around the engine — subscribe with backoff across masters, a
// heartbeat watchdog, offers → stored launches → ACCEPT, status updates
// stored then acknowledged, reconciliation, SUPPRESS and REVIVE.
package framework
