// Package wire holds the HTTP conventions shared by every Mesos v1 endpoint the
// local Mesos serves: method and media-type negotiation, single-message bodies,
// RecordIO event streams, plain-text errors, and status-update UUIDs.
package wire
