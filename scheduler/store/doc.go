// Package store persists Gleaner's jobs, attempt records and framework id:
// an etcd implementation (writes batched into transactions and fenced by a
// leader key) and an in-memory one, both passing the storetest contract suite.
package store
