// Package master is the master half of the local Mesos: the v1 scheduler and
// operator HTTP APIs, the legacy /master/* endpoints, a periodic offer
// allocator, and the link.Master side that agents register with.
package master
