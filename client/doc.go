// Package client is the Go SDK of the Gleaner scheduler API: submit, list,
// watch, read logs of, kill, suspend, resume and retry jobs, and read or
// edit agents' attributes, with typed errors (*APIError, ErrNotFound, …).
// The gleaner CLI uses it for every call it makes.
package client
