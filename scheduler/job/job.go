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
}

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
