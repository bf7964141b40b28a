// Package jobstatus derives a job's status, as the API shows it, from its
// stored record and attempts: the per-task counts (job.Tally), then the DAG
// (skipped tasks and why, continueOn, failJob), kills and suspension. The
// API, the node, metrics and events call Derive; the engine uses RetryView
// when it reloads a retried job. Tasks with a per-index failure tolerance
// take the state retry.IndexTolerance decides. It depends on job, dag and
// retry only.
package jobstatus
