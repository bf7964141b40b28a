// Package leader elects one Gleaner scheduler through etcd
// (concurrency.Election): the term's key and revision fence the leader's
// writes, its session's lease expiry or Resign ends the term.
package leader
