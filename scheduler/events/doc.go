// Package events turns job and task state changes into events: a Detector
// derives each job's status from the store at a bounded rate and diffs it
// with the last one seen (Diff is pure), reading an unfinished job whole
// once and then following its attempt changes through a watch
// (jobstatus.Live); a bounded Log keeps the recent events for the
// GET /v1/events stream, and a Dispatcher, on the leader only, POSTs them
// to webhooks signed with HMAC-SHA256, retrying with exponential backoff
// from a bounded queue per webhook.
package events
