// Package dag compiles a job's task dependencies — a list of task names or an
// expression over task outcomes such as `a && b` or `a.succeeded || b.failed`
// and upstream outputs (`a.outputs.parameters.status == "ok"`) — and `when`
// conditions over parameters, rejects unknown names and cycles,
// and decides purely, from the tasks' states, which tasks are ready, must
// wait, or will never run (skip).
package dag
