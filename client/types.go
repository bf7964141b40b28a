package client

import (
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// The API's answers as the SDK decodes them. They keep the API's JSON
// keys, so encoding one gives back what the API sent (a test checks this
// against the scheduler/api types).

// JobView is GET /v1/jobs/{id}: the job's derived status with, per task
// with pending instances, why they wait.
type JobView struct {
	job.Status
	Tasks []TaskView `json:"tasks"`
	// Labels are the job's labels (spec `labels:`).
	Labels map[string]string `json:"labels,omitempty"`
}

// TaskView is one task of a JobView.
type TaskView struct {
	job.TaskStatus
	// Why is set while instances are pending and the leader has tried
	// to place them.
	Why *Why `json:"why,omitempty"`
}

// Why-pending codes.
const (
	// Unschedulable: no agent fits now; one may later.
	Unschedulable = "unschedulable"
	// UnschedulableForever: no known agent could ever take the task.
	UnschedulableForever = "unschedulable-forever"
)

// Why says why a task's instances wait: a code and the rejections counted
// by name ("no cpu", "constraint zone IS a").
type Why struct {
	Code    string        `json:"code"`
	Reasons []ReasonCount `json:"reasons"`
	// Agents is how many agents the scheduler knows; the reasons' counts
	// add up to it (0 from a scheduler that does not say).
	Agents int `json:"agents,omitempty"`
}

// ReasonCount is one rejection reason and how many agents gave it.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// JobSummary is one job of GET /v1/jobs, in submission order.
type JobSummary struct {
	job.Status
	Labels map[string]string `json:"labels,omitempty"`
	// Ended is when the last attempt of a finished job ended; Duration
	// is Ended (or now, while it runs) minus submission, in seconds.
	Ended    *time.Time `json:"ended,omitempty"`
	Duration float64    `json:"durationSeconds,omitempty"`
	// Parent is the scheduled job this job is a run of.
	Parent string `json:"parent,omitempty"`
	// Schedule is set for a scheduled (cron) job.
	Schedule *ScheduleSummary `json:"schedule,omitempty"`
}

// ScheduleSummary is a scheduled job's cron schedule, its last handled
// and its next run time.
type ScheduleSummary struct {
	Cron     string     `json:"cron"`
	Timezone string     `json:"timezone,omitempty"`
	Suspend  bool       `json:"suspend,omitempty"`
	LastRun  *time.Time `json:"lastRun,omitempty"`
	NextRun  *time.Time `json:"nextRun,omitempty"`
}

// Instance is GET /v1/jobs/{id}/tasks/{task}/instances/{index}.
type Instance struct {
	Job      string    `json:"job"`
	Task     string    `json:"task"`
	Index    int       `json:"index"`
	State    job.State `json:"state"`
	Attempts []Attempt `json:"attempts"`
}

// Attempt is one attempt of an instance.
type Attempt struct {
	TaskID    string           `json:"taskId"`
	Attempt   int              `json:"attempt"`
	State     job.AttemptState `json:"state"`
	AgentID   string           `json:"agentId,omitempty"`
	Hostname  string           `json:"hostname,omitempty"`
	ExitCode  *int             `json:"exitCode,omitempty"`
	Reason    string           `json:"reason,omitempty"`
	Message   string           `json:"message,omitempty"`
	Created   time.Time        `json:"created"`
	Started   *time.Time       `json:"started,omitempty"`
	Ended     *time.Time       `json:"ended,omitempty"`
	Signal    int              `json:"signal,omitempty"`
	Verdict   string           `json:"verdict,omitempty"`
	NotBefore *time.Time       `json:"notBefore,omitempty"`
	// Outputs are the output parameters a succeeded attempt left.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Artifacts are the output artifacts it uploaded.
	Artifacts []Artifact `json:"artifacts,omitempty"`
}

// Artifact is an output artifact an attempt uploaded: the stored object's
// digest ("sha256:<hex>") and size, its key in the artifact store and its
// URL when the scheduler knows the store.
type Artifact struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Kind   string `json:"kind,omitempty"`
	Key    string `json:"key"`
	URL    string `json:"url,omitempty"`
}

// InstancePage is GET /v1/jobs/{id}/instances: one page of a job's
// instances (failed first), and how many match in all.
type InstancePage struct {
	Total     int        `json:"total"`
	Offset    int        `json:"offset"`
	Limit     int        `json:"limit"`
	Instances []Instance `json:"instances"`
}

// Submitted is the answer to a submit.
type Submitted struct {
	ID string `json:"id"`
}

// Plan is the answer to a dry-run submit: the spec is valid, and per
// task whether the live agents could ever place it.
type Plan struct {
	Name  string     `json:"name"`
	Tasks []TaskPlan `json:"tasks"`
	// Agents is how many agents the placement was checked against.
	Agents int `json:"agents"`
	// Warning says what the check could not see (no agent known yet).
	Warning string `json:"warning,omitempty"`
}

// TaskPlan is one task of a Plan: Feasible when at least one known agent
// could take an instance; otherwise Reasons says why none can.
type TaskPlan struct {
	Name      string        `json:"name"`
	Instances int           `json:"instances"`
	Feasible  bool          `json:"feasible"`
	Agents    int           `json:"feasibleAgents"`
	Reasons   []ReasonCount `json:"reasons,omitempty"`
}

// Accepted is the answer to kill, suspend, resume, retry and run-now.
type Accepted struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// Run is the job a run-now created.
	Run string `json:"run,omitempty"`
}
