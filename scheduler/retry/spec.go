package retry

import (
	"fmt"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// PolicyOf builds a task's retry policy from its spec. A task without a
// backoff retries at once, except under restart Always, which uses
// DefaultBackoff so a crashing worker does not spin.
func PolicyOf(t *job.TaskSpec) Policy {
	p := Policy{Retries: t.Retries, Restart: Restart(t.Restart), Backoff: Backoff{Factor: 1}}
	if p.Restart == "" {
		p.Restart = Never
	}
	switch {
	case t.Backoff != nil:
		p.Backoff = Backoff{Delay: Duration(t.Backoff.Delay), Factor: t.Backoff.Factor, Max: Duration(t.Backoff.Max)}
	case p.Restart == Always:
		p.Backoff = DefaultBackoff
	}
	for _, r := range t.OnFailure {
		p.OnFailure.Rules = append(p.OnFailure.Rules, Rule{Action: Action(r.Action), ExitCodes: r.ExitCodes, NotIn: r.NotIn, Signals: r.Signals})
	}
	return p
}

func init() {
	spec.RegisterCheck(func(s *job.Spec) error {
		for i := range s.Tasks {
			if err := PolicyOf(&s.Tasks[i]).Validate(fmt.Sprintf("tasks[%d]", i)); err != nil {
				return err
			}
		}
		return nil
	})
}
