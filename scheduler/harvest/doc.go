// Package harvest keeps a bounded in-memory history of what the monitors
// report in their heartbeats (<prefix>monitors/<hostname>): per host and
// summed over the cluster, the capacity, business and batch usage, the
// batch allowance and reservation, the idle capacity batch could take
// (capacity − business), whether batch is throttled, and the eviction
// requests made (<prefix>evictions/<hostname>). Every scheduler (leader
// or standby) runs a Poller, so each serves GET /v1/harvest.
//
// History is pure (Record, View) and table-tested; Poller is the etcd
// edge: it reads the heartbeats every Interval and watches the eviction
// records, so one that lived less than an interval is still counted.
package harvest
