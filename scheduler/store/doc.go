// Package store persists Gleaner's jobs, attempt records and framework id:
// an etcd implementation (writes batched into transactions and fenced by a
// leader key) and an in-memory one, both passing the storetest contract suite.
// A job's attempt records are read in pages at one revision; ScanAttempts
// hands them over a page at a time (every instance's records together) to
// readers that keep counts, not records.
package store
