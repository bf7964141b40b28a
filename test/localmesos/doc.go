// Package localmesos runs a local Mesos in-process: a master speaking the
// real v1 HTTP APIs plus N agents, wired for tests and `gleaner mesos-local`.
package localmesos
