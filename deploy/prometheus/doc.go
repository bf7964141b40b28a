// Package prometheus holds Gleaner's example Prometheus configuration, alert
// rules and their promtool unit tests (see README.md); the Go code here only
// runs promtool over them.
package prometheus
