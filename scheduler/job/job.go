package job

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Spec is a validated job as submitted (scheduler/spec parses it).
type Spec struct {
	Name  string     `json:"name"`
	Tasks []TaskSpec `json:"tasks"`
	// Priority orders pending work (higher first) and lets it preempt
	// lower-priority instances; 0 to 1000.
	Priority int `json:"priority,omitempty"`
	// User and Queue are the accounts dominant-resource fairness shares
	// resources between.
	User  string `json:"user,omitempty"`
	Queue string `json:"queue,omitempty"`
	// FailFast: once a task fails, no further task starts (dag.Options).
	FailFast bool `json:"failFast,omitempty"`
	// Params are the job's parameters, seen by `when` conditions.
	Params map[string]string `json:"params,omitempty"`
	// Labels tag the job for people and tools (`gleaner job list
	// --label k=v`); they do not reach the tasks.
	Labels map[string]string `json:"labels,omitempty"`
	// Deadline bounds the whole job from submission: when it passes, the
	// job is killed with the reason "deadline exceeded". 0 = none.
	Deadline Duration `json:"deadline,omitempty"`
	// TTLAfterFinished: the job's records are deleted this long after it
	// finished (Kubernetes' ttlSecondsAfterFinished); 0 = the scheduler's
	// --finished-job-ttl.
	TTLAfterFinished Duration `json:"ttlAfterFinished,omitempty"`
	// Schedule makes the job a scheduled one: it runs nothing itself but
	// creates runs (jobs <id>-<unix time>) on its cron schedule.
	Schedule *Schedule `json:"schedule,omitempty"`
}

// Schedule is a job's cron schedule (scheduler/cron.Schedule).
type Schedule struct {
	Cron             string   `json:"cron"`
	Timezone         string   `json:"timezone,omitempty"`
	Concurrency      string   `json:"concurrency,omitempty"`
	StartingDeadline Duration `json:"startingDeadline,omitempty"`
	Suspend          bool     `json:"suspend,omitempty"`
	// SuccessfulRunsHistoryLimit and FailedRunsHistoryLimit: how many
	// finished runs of each outcome are kept (nil: the defaults, 3 and 1).
	SuccessfulRunsHistoryLimit *int `json:"successfulRunsHistoryLimit,omitempty"`
	FailedRunsHistoryLimit     *int `json:"failedRunsHistoryLimit,omitempty"`
}

// Duration is a time.Duration encoded as a Go duration string.
type Duration time.Duration

// MarshalJSON writes "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

// UnmarshalJSON reads a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if s, err := strconv.Unquote(string(b)); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("parse duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("parse duration %s: %w", b, err)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// Backoff is the wait before retry n: delay * factor^(n-1), at most max
// (scheduler/retry.Backoff).
type Backoff struct {
	Delay  Duration `json:"delay"`
	Factor float64  `json:"factor"`
	Max    Duration `json:"max"`
}

// FailureRule maps failures by exit code or signal to an action: count,
// retry, ignore or failJob (scheduler/retry.Rule).
type FailureRule struct {
	Action    string   `json:"action"`
	ExitCodes []int    `json:"exitCodes,omitempty"`
	NotIn     bool     `json:"notIn,omitempty"`
	Signals   []string `json:"signals,omitempty"`
}

// Volume is a host path bind-mounted into the task.
type Volume struct {
	Host      string `json:"host"`
	Container string `json:"container"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// Bundle is a rootfs bundle the executor fetches and verifies.
type Bundle struct {
	URI    string `json:"uri"`
	Digest string `json:"digest,omitempty"`
}

// TaskSpec is one task of a job: a command run Instances times.
type TaskSpec struct {
	Name      string            `json:"name"`
	Command   string            `json:"command,omitempty"`
	Args      []string          `json:"args,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Resources Resources         `json:"resources"`
	Instances int               `json:"instances"`
	Retries   int               `json:"retries"`
	Depends   []string          `json:"depends,omitempty"`
	// Labels are copied onto every Mesos TaskInfo (used e.g. by localmesos'
	// simulated-tasks mode).
	Labels map[string]string `json:"labels,omitempty"`
	// Constraints are [field, OPERATOR, value] placement constraints on
	// agent attributes or hostname (scheduler/placement).
	Constraints [][]string `json:"constraints,omitempty"`
	// DependsExpr, instead of Depends, is an expression over task outcomes
	// (`a && b`, `a.succeeded || b.failed`); see scheduler/dag.
	DependsExpr string `json:"dependsExpr,omitempty"`
	// When is a condition over the job's params; false → skipped.
	When string `json:"when,omitempty"`
	// ContinueOn: this task's failure does not fail the job.
	ContinueOn bool `json:"continueOn,omitempty"`
	// Backoff and OnFailure complete the retry policy; Restart is Never
	// (default), OnFailure or Always.
	Backoff   *Backoff      `json:"backoff,omitempty"`
	OnFailure []FailureRule `json:"onFailure,omitempty"`
	Restart   string        `json:"restart,omitempty"`
	// Timeout bounds each attempt; the attempt is killed with the reason
	// "timeout". 0 = none.
	Timeout Duration `json:"timeout,omitempty"`
	// Parallelism caps the instances running at once (0 = no cap).
	Parallelism int `json:"parallelism,omitempty"`
	// Completions: the task succeeds once this many instances succeeded
	// (0 = all instances); the rest are not started.
	Completions int `json:"completions,omitempty"`
	// BackoffLimitPerIndex turns on the per-index failure tolerance (like
	// Kubernetes'): each index has this retry budget (Retries holds it
	// too), a failed index does not stop the others, and the task fails
	// once more than MaxFailedIndexes indexes failed (nil: every index
	// runs, and any failed index fails the task at the end). See
	// scheduler/retry.IndexTolerance.
	BackoffLimitPerIndex *int `json:"backoffLimitPerIndex,omitempty"`
	MaxFailedIndexes     *int `json:"maxFailedIndexes,omitempty"`
	// Cleanup is what the executor does with an instance's sandbox and
	// rootfs copy: remove-finished (default), remove-failed, remove-all,
	// remove-none.
	Cleanup string   `json:"cleanup,omitempty"`
	Volumes []Volume `json:"volumes,omitempty"`
	Bundle  *Bundle  `json:"bundle,omitempty"`
	// WorkQueue feeds the task's instances from a work queue served by
	// the scheduler (GLEANER_QUEUE_URL, GLEANER_QUEUE_TOKEN).
	WorkQueue *WorkQueue `json:"workQueue,omitempty"`
	// WithItems and WithSequence expand the task into one instance per
	// item; {{item}}, {{item.field}}, {{index}} and
	// {{inputs.parameters.x}} are substituted in command, args and env
	// (scheduler/expand), the item is in GLEANER_ITEM.
	WithItems    []any     `json:"withItems,omitempty"`
	WithSequence *Sequence `json:"withSequence,omitempty"`
	// Outputs and Inputs pass artifacts between tasks (taskio.go).
	Outputs *TaskOutputs `json:"outputs,omitempty"`
	Inputs  *TaskInputs  `json:"inputs,omitempty"`
	// Repeat runs each instance again while a condition on its own
	// output parameters holds (repeat.go).
	Repeat *Repeat `json:"repeat,omitempty"`
	// WithParam fans the task out over a JSON list an upstream task left
	// as an output ("{{tasks.gen.outputs.parameters.items}}"): when the
	// task becomes ready the list becomes its WithItems (scheduler/dag
	// ResolveFanOut).
	WithParam string `json:"withParam,omitempty"`
}

// Sequence is withSequence: numbers from Start to End (inclusive) or Count
// of them, rendered with Format (scheduler/expand.Sequence).
type Sequence struct {
	Start  int    `json:"start,omitempty"`
	End    *int   `json:"end,omitempty"`
	Count  *int   `json:"count,omitempty"`
	Format string `json:"format,omitempty"`
}

// Work-queue patterns (the Kubernetes Job ones).
const (
	// QueuePerItem: one instance per item; each takes one item and exits.
	QueuePerItem = "perItem"
	// QueueWorkers: a number of workers pull items until the queue is
	// empty; the task succeeds once one worker succeeded and all ended.
	QueueWorkers = "workers"
)

// WorkQueue is a task's work queue: its items and pattern.
type WorkQueue struct {
	Items   []string `json:"items"`
	Pattern string   `json:"pattern,omitempty"`
}

// Needed is the number of successes that complete the task.
func (t *TaskSpec) Needed() int {
	if t.WorkQueue != nil && t.WorkQueue.Pattern == QueueWorkers {
		return 1
	}
	if t.Completions > 0 && t.Completions < t.Instances {
		return t.Completions
	}
	return t.Instances
}

// Resources are Mesos units: cpus, mem and disk in MiB, gpus whole.
type Resources struct {
	CPUs float64 `json:"cpus"`
	Mem  float64 `json:"mem"`
	Disk float64 `json:"disk"`
	GPUs float64 `json:"gpus,omitempty"`
}

// Job is a stored job: its spec plus desired state. Observed state lives in
// attempts and is derived, never stored here.
type Job struct {
	ID        string    `json:"id"`
	Spec      Spec      `json:"spec"`
	Submitted time.Time `json:"submitted"`
	// KillRequested is the desired state set by DELETE /v1/jobs/{id}.
	KillRequested bool      `json:"killRequested,omitempty"`
	KilledAt      time.Time `json:"killedAt,omitzero"`
	// KillReason says why a job was killed by Gleaner itself (e.g.
	// "deadline exceeded"); empty for a kill on request.
	KillReason string `json:"killReason,omitempty"`
	// Suspended is the desired state set by POST /v1/jobs/{id}/suspend:
	// nothing new starts until resume.
	Suspended bool `json:"suspended,omitempty"`
	// RetriedAt is when POST /v1/jobs/{id}/retry asked to run the failed
	// part of the finished job again: instances whose last attempt before
	// it failed or was killed run again with a fresh retry budget, and so
	// does every instance of the Rerun tasks (the upstream of the failed
	// ones, with ?upstream=true).
	RetriedAt time.Time `json:"retriedAt,omitzero"`
	Rerun     []string  `json:"rerun,omitempty"`
	// Parent is the scheduled job this job is a run of.
	Parent string `json:"parent,omitempty"`
	// LastScheduled is, for a scheduled job, the latest scheduled time
	// handled (runs created, missed or coalesced), recorded after the
	// runs were created.
	LastScheduled time.Time `json:"lastScheduled,omitzero"`
	// Folded: instances that succeeded at their first attempt, as index
	// ranges per task, whose attempt records were removed after the job
	// succeeded (see PlanFolds). Observed state, written once.
	Folded Folds `json:"folded,omitempty"`
}

// Task returns the task spec with the given name, or nil.
func (j *Job) Task(name string) *TaskSpec {
	for i := range j.Spec.Tasks {
		if j.Spec.Tasks[i].Name == name {
			return &j.Spec.Tasks[i]
		}
	}
	return nil
}

// AttemptState is the observed state of one attempt (one Mesos task).
type AttemptState string

// Attempt states. Launching is written before ACCEPT is sent.
const (
	AttemptLaunching AttemptState = "launching"
	AttemptRunning   AttemptState = "running"
	AttemptSucceeded AttemptState = "succeeded"
	AttemptFailed    AttemptState = "failed"
	AttemptKilled    AttemptState = "killed"
	// AttemptLost covers TASK_LOST/DROPPED/GONE/UNREACHABLE/UNKNOWN, agent
	// loss and invalid offers: the instance is requeued without consuming a
	// retry.
	AttemptLost AttemptState = "lost"
)

// Terminal reports whether no further updates are expected for the attempt.
func (s AttemptState) Terminal() bool {
	switch s {
	case AttemptSucceeded, AttemptFailed, AttemptKilled, AttemptLost:
		return true
	}
	return false
}

// Attempt is one run of one instance: one Mesos task with the deterministic
// id <job>.<task>.<index>.<attempt>.
type Attempt struct {
	Job      string       `json:"job"`
	Task     string       `json:"task"`
	Index    int          `json:"index"`
	Attempt  int          `json:"attempt"`
	State    AttemptState `json:"state"`
	AgentID  string       `json:"agentId,omitempty"`
	Hostname string       `json:"hostname,omitempty"`
	ExitCode *int         `json:"exitCode,omitempty"`
	// MesosState is the last Mesos TaskState seen, e.g. TASK_FAILED.
	MesosState string    `json:"mesosState,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
	Created    time.Time `json:"created"`
	Started    time.Time `json:"started,omitzero"`
	Ended      time.Time `json:"ended,omitzero"`
	// Verdict is the retry decision taken when the attempt ended (see
	// scheduler/retry): done, again, fail, failJob or stop; empty while it
	// runs. NotBefore is when the next attempt may start (backoff).
	Verdict   string    `json:"verdict,omitempty"`
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Signal is the terminating signal the executor reported, if any.
	Signal int `json:"signal,omitempty"`
	// Outputs are the output parameters a succeeded attempt left in
	// $GLEANER_OUTPUTS (name → value; scheduler/spec/outputs.go).
	Outputs map[string]string `json:"outputs,omitempty"`
	// Artifacts are the output artifacts a succeeded attempt uploaded
	// (name, digest, size; taskio.go).
	Artifacts []ArtifactRef `json:"artifacts,omitempty"`
}

// Verdicts recorded on ended attempts (the values of scheduler/retry.Verdict).
const (
	VerdictDone    = "done"
	VerdictAgain   = "again"
	VerdictFail    = "fail"
	VerdictFailJob = "failJob"
	VerdictStop    = "stop"
)

// TaskID is the attempt's Mesos task id.
func (a *Attempt) TaskID() string { return TaskID(a.Job, a.Task, a.Index, a.Attempt) }

// TaskID builds the deterministic Mesos task id <job>.<task>.<index>.<attempt>.
func TaskID(jobID, task string, index, attempt int) string {
	return jobID + "." + task + "." + strconv.Itoa(index) + "." + strconv.Itoa(attempt)
}

// ParseTaskID splits a task id built by TaskID.
func ParseTaskID(id string) (jobID, task string, index, attempt int, err error) {
	parts := strings.Split(id, ".")
	if len(parts) != 4 {
		return "", "", 0, 0, fmt.Errorf("parse task id %q: want <job>.<task>.<index>.<attempt>", id)
	}
	index, err = strconv.Atoi(parts[2])
	if err != nil || index < 0 {
		return "", "", 0, 0, fmt.Errorf("parse task id %q: bad index", id)
	}
	attempt, err = strconv.Atoi(parts[3])
	if err != nil || attempt < 0 {
		return "", "", 0, 0, fmt.Errorf("parse task id %q: bad attempt", id)
	}
	return parts[0], parts[1], index, attempt, nil
}
