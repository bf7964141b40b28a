// Package job holds Gleaner's job model (job → tasks → instances → attempts)
// and the pure derivation of instance, task and job states from attempts.
package job
