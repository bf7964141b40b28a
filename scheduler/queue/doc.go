// Package queue is Gleaner's built-in work queue for the Kubernetes Job
// patterns, with no external broker: items of a job's queue live in etcd,
// Next hands one out under a claim bound to the asking instance's lease (an
// item whose worker died — lease expired, or the instance ended and was
// released — is handed out again), Done removes it, and the queue says when
// it is empty. Handler serves it to tasks over HTTP, authenticated by a
// per-instance token the scheduler puts in the task's environment.
package queue
