// Package metrics holds the scheduler's Prometheus metrics that are not
// counted inside the framework: what the node's state says at scrape time
// (leader, jobs, instances and failed attempts by state and reason, pending
// instances per queue), leadership changes, API requests by route, and etcd
// request latency through a gRPC client interceptor.
package metrics
