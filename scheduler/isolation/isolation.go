package isolation

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Policy is what the scheduler's configuration allows. Its zero value is the
// Gleaner executor with root tasks refused.
type Policy struct {
	// CommandExecutor: tasks run under Mesos' command executor, directly on
	// the agent's host as FrameworkInfo.user, with no chroot, namespaces,
	// volumes or cleanup and only the limits the agent's own isolators apply.
	CommandExecutor bool
	// AllowRootTasks lets a job ask to run its tasks as uid 0 (user: root).
	AllowRootTasks bool
	// ArtifactStore: the scheduler has an --artifact-store, so tasks may
	// have output and input artifacts.
	ArtifactStore bool
}

// Users that mean uid 0 in a job's user field or --user.
func isRoot(user string) bool {
	if user == "root" {
		return true
	}
	n, err := strconv.ParseUint(user, 10, 32)
	return err == nil && n == 0
}

// RootRequested reports whether the job asks to run its tasks as root
// (user: root or 0). Any other user is only the account fairness charges.
func RootRequested(sp *job.Spec) bool { return isRoot(sp.User) }

// TaskUser is the user put in the executor payload for the job's tasks:
// "0" when the job asks for root and the policy allows it; otherwise empty.
// Empty lets each executor choose, without coordination: the job's own uid
// and gid from its --task-uid-range, hashed from the payload's job id (the
// same on every agent), else its --user. A job's user field stays the
// account fairness charges; it never picks a host uid.
func (p Policy) TaskUser(sp *job.Spec) string {
	if p.AllowRootTasks && RootRequested(sp) {
		return "0"
	}
	return ""
}

// Check refuses a spec the scheduler cannot run as written: a job asking
// for root without AllowRootTasks, and under the command executor every
// field only the Gleaner executor enforces. The error is a *fielderr.FieldError
// naming the first such field.
func (p Policy) Check(sp *job.Spec) error {
	if RootRequested(sp) && !p.AllowRootTasks {
		return &fielderr.FieldError{Field: "user", Msg: fmt.Sprintf("%q runs tasks as root, which this scheduler refuses; "+
			"start it with --allow-root-tasks to allow it (unsafe)", sp.User)}
	}
	for i := range sp.Tasks {
		if err := p.CheckTask(fmt.Sprintf("tasks[%d]", i), &sp.Tasks[i]); err != nil {
			return err
		}
	}
	return nil
}

// CheckTask refuses a task that uses what the policy's executor cannot
// enforce; path names the task in the error (tasks[1]). The framework
// checks every launch with it too, so a job stored under another
// configuration never runs without the isolation it asked for.
func (p Policy) CheckTask(path string, t *job.TaskSpec) error {
	if field := spec.UsesArtifacts(t); field != "" && !p.ArtifactStore && !p.CommandExecutor {
		return &fielderr.FieldError{Field: path + "." + field, Msg: "artifacts need a store: start the scheduler with --artifact-store"}
	}
	if !p.CommandExecutor {
		return nil
	}
	if field, what := commandExecutorCannot(t); field != "" {
		return &fielderr.FieldError{Field: path + "." + field,
			Msg: "the command executor cannot enforce " + what + "; start the scheduler with --executor-path or --executor-uri"}
	}
	return nil
}

// commandExecutorCannot names the first field of t that only the Gleaner
// executor enforces, and what it asks for. Resources cpus, mem, disk and
// gpus are Mesos' own and go to the agent either way; timeouts are
// enforced by the scheduler's kill.
func commandExecutorCannot(t *job.TaskSpec) (field, what string) {
	switch {
	case t.Bundle != nil:
		return "bundle", "bundles"
	case len(t.Volumes) > 0:
		return "volumes", "volumes"
	case t.Cleanup != "":
		return "cleanup", "cleanup policies"
	case spec.UsesArtifacts(t) != "":
		return spec.UsesArtifacts(t), "artifacts"
	}
	return "", ""
}

// ErrNoExecutor is returned by ChooseExecutor when no executor was chosen.
var ErrNoExecutor = errors.New("no executor: give --executor-path (the gleaner or gleaner-executor binary on the agents) " +
	"or --executor-uri (where agents fetch it); --command-executor runs tasks without Gleaner's isolation and refuses specs it cannot enforce")

// ChooseExecutor checks the executor flags: exactly one of an executor path,
// an executor URI or the command executor. It returns the policy's
// CommandExecutor value.
func ChooseExecutor(path, uri string, command bool) (bool, error) {
	n := 0
	for _, set := range []bool{path != "", uri != "", command} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return false, ErrNoExecutor
	case n > 1:
		return false, errors.New("give one of --executor-path, --executor-uri and --command-executor")
	}
	return command, nil
}

// Default FrameworkInfo.user values. The Gleaner executor needs root for
// chroot, namespaces and cgroups and runs each task as an unprivileged user
// itself; the command executor runs tasks as FrameworkInfo.user.
const (
	GleanerExecutorUser = "root"
	CommandExecutorUser = "nobody"
)

// FrameworkUser is the FrameworkInfo.user to subscribe with: requested if
// given, else the executor's default. Under the command executor tasks run as
// that user, so root is refused there unless AllowRootTasks.
func (p Policy) FrameworkUser(requested string) (string, error) {
	if !p.CommandExecutor {
		if requested == "" {
			return GleanerExecutorUser, nil
		}
		return requested, nil
	}
	if requested == "" {
		return CommandExecutorUser, nil
	}
	if isRoot(requested) && !p.AllowRootTasks {
		return "", fmt.Errorf("--user %s: with --command-executor every task runs as this user; "+
			"give --allow-root-tasks to run tasks as root (unsafe)", requested)
	}
	return requested, nil
}
