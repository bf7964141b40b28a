// Package e2e holds the end-to-end tests: scheduler nodes, a real etcd, the
// local Mesos and the Gleaner executor run together, driven as a user would.
package e2e
