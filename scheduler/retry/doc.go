// Package retry holds Gleaner's pure retry decisions: the backoff between
// attempts, the failure policy keyed on exit codes and signals, and the
// restart policy (Never, OnFailure, Always). It does no I/O: an attempt's
// outcome and the instance's history go in, a Decision comes out.
package retry
