// Package node runs one Gleaner scheduler process: it campaigns in etcd,
// and while it leads it rebuilds the engine from etcd and runs the Mesos
// framework with writes fenced by its term; it serves submits and kills
// when leading and reads always.
package node
