package engine

import "github.com/gleaner-project/gleaner/scheduler/job"

// TaskSpec returns the spec of a scheduled job's task, or nil when the job
// is not scheduled here (finished, unknown).
func (e *Engine) TaskSpec(jobID, task string) *job.TaskSpec {
	e.mu.Lock()
	defer e.mu.Unlock()
	js := e.jobs[jobID]
	if js == nil {
		return nil
	}
	if t := js.task(task); t != nil {
		return t.spec
	}
	return nil
}

// JobSpec returns a scheduled job's spec, or nil.
func (e *Engine) JobSpec(jobID string) *job.Spec {
	e.mu.Lock()
	defer e.mu.Unlock()
	if js := e.jobs[jobID]; js != nil {
		return &js.job.Spec
	}
	return nil
}

// ScheduledJobs is how many jobs the engine holds (unfinished ones).
func (e *Engine) ScheduledJobs() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.jobs)
}
