// Package monitor is the Gleaner monitor daemon: beside each Mesos agent on a
// business host it samples the host, decides how much idle capacity batch work
// may use (package policy), throttles the batch cgroups at once when business
// load spikes, asks the scheduler through etcd to evict batch instances when
// memory runs short or a spike persists, and keeps the agent's dynamic
// reservation for the batch role equal to its decision. See README.md for the
// formula, the defaults and the etcd contracts.
package monitor
