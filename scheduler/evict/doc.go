// Package evict carries out the monitor's eviction requests on the leader:
// Choose (pure) picks the batch instances to kill on a host, and Watcher
// reads <prefix>evictions/<hostname>, kills the victims so they are requeued
// without consuming a retry, and deletes the request.
package evict
