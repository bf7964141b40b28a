package expand

import (
	"fmt"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// LoopOf returns a task spec's loop.
func LoopOf(t *job.TaskSpec) Loop {
	l := Loop{WithItems: t.WithItems}
	if q := t.WithSequence; q != nil {
		l.WithSequence = &Sequence{Start: q.Start, End: q.End, Count: q.Count, Format: q.Format}
	}
	return l
}

// Needed reports whether a task's instances need expanding: it has a loop
// or a placeholder ({{ in its command, args or env).
func Needed(t *job.TaskSpec) bool {
	if t.WithItems != nil || t.WithSequence != nil || t.WithParam != "" || strings.Contains(t.Command, "{{") {
		return true
	}
	for _, a := range t.Args {
		if strings.Contains(a, "{{") {
			return true
		}
	}
	for _, v := range t.Env {
		if strings.Contains(v, "{{") {
			return true
		}
	}
	return false
}

// FromSpec expands task i of s (nil, nil when it needs no expanding).
func FromSpec(s *job.Spec, i int) (*Expanded, error) {
	t := &s.Tasks[i]
	if !Needed(t) {
		return nil, nil
	}
	return Task(fmt.Sprintf("tasks[%d]", i), *t, LoopOf(t), s.Params)
}

// CheckFanOut is dag.Options.CheckFanOut: task i of s, fanned out over its
// withParam list, expands (every item renders its placeholders).
func CheckFanOut(s *job.Spec, i int) error {
	_, err := FromSpec(s, i)
	return err
}

// Loops and placeholders are checked at submit through the spec parser's
// hook (this package imports the parser).
func init() {
	spec.RegisterCheck(func(s *job.Spec) error {
		for i := range s.Tasks {
			if _, err := FromSpec(s, i); err != nil {
				return err
			}
		}
		return nil
	})
}
