// Package store persists Gleaner's jobs, attempt records and framework id:
// an etcd implementation (writes batched into transactions and fenced by a
// leader key) and an in-memory one, both passing the storetest contract suite.
// A job's attempt records are read in pages at one revision; ScanAttempts
// hands them over a page at a time (every instance's records together) to
// readers that keep counts, not records. A reader that follows a job
// (AttemptFollower) scans it once at a known revision (ScanAttemptsAt) and
// then takes the decoded changes of every attempt record from one watch
// (WatchAttempts), which ends with ErrCompacted when the store no longer
// keeps the revisions it asked for.
package store
