// Package reserver keeps one agent's dynamic reservation for the batch role
// at a target through the Mesos master's operator API (GET_AGENTS,
// RESERVE_RESOURCES, UNRESERVE_RESOURCES), always computing the difference
// from the master's current view so it is idempotent across restarts.
package reserver
