// Package api serves Gleaner's HTTP job API: submit, list, get, kill, per
// instance attempts, a watch stream of job status (JSON lines), /metrics and
// /healthz; writes need a bearer token when one is configured.
package api
