// Package jobstatus derives a job's status, as the API shows it, from its
// stored record and attempts: the per-task counts (job.Tally), then the DAG
// (skipped tasks and why, continueOn, failJob), kills and suspension. The
// engine uses RetryView when it reloads a retried job. Tasks with a
// per-index failure tolerance take the state retry.IndexTolerance decides.
// Readers of stored jobs (the API's status and list, the node's fold and
// retention, metrics, events) derive through a Reduction fed a page of
// attempts at a time (store.ScanAttempts): it answers as Derive and
// job.PlanFolds over all of them while keeping plain successes as indexes,
// so a big finished job is never held decoded whole. A Live is a
// Reduction that then follows puts and deletes of records (the events
// detector follows running jobs with it). It depends on job,
// dag and retry only.
package jobstatus
