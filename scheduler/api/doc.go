// Package api serves Gleaner's HTTP job API: submit, list, get, kill, per
// instance attempts and logs, a watch stream of job status (JSON lines),
// /metrics and /healthz. Every route but /healthz needs a bearer token
// (scheduler/auth: read-only for GET, admin otherwise); bodies are bounded
// per route (413), and NewServer sets read, write and idle timeouts.
package api
