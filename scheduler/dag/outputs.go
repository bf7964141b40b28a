package dag

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Outputs holds the output parameters of a job's succeeded instances (the
// last succeeded attempt of each), as the engine gathers them from status
// updates and jobstatus from stored attempts. The zero value is empty; a
// nil *Outputs has none.
type Outputs struct {
	tasks map[string]*taskOutputs
	// only, once Restrict was called, are the tasks whose outputs are
	// kept (those something refers to).
	only       map[string]bool
	restricted bool
}

// Restrict keeps, from now on, only the outputs of the named tasks.
func (o *Outputs) Restrict(tasks []string) {
	o.restricted, o.only = true, map[string]bool{}
	for _, t := range tasks {
		o.only[t] = true
	}
}

// Restricted reports whether Restrict was called.
func (o *Outputs) Restricted() bool { return o.restricted }

// Referenced returns the tasks of s whose outputs another task refers to
// (templates, when, withParam).
func Referenced(s *job.Spec) []string {
	var out []string
	seen := map[string]bool{}
	for i := range s.Tasks {
		for _, r := range spec.OutputRefs(s, i) {
			if !seen[r.Task] {
				seen[r.Task] = true
				out = append(out, r.Task)
			}
		}
	}
	return out
}

type taskOutputs struct {
	instances int
	byIndex   map[int]map[string]string
}

// Record keeps one instance's outputs (a later attempt replaces an earlier
// one). instances is the task's instance count.
func (o *Outputs) Record(task string, instances, index int, values map[string]string) {
	if len(values) == 0 || o.restricted && !o.only[task] {
		return
	}
	if o.tasks == nil {
		o.tasks = map[string]*taskOutputs{}
	}
	t := o.tasks[task]
	if t == nil {
		t = &taskOutputs{byIndex: map[int]map[string]string{}}
		o.tasks[task] = t
	}
	t.instances = instances
	t.byIndex[index] = values
}

// OutputsOf gathers the outputs of a job's stored attempts: per instance,
// those of its last succeeded attempt.
func OutputsOf(s *job.Spec, attempts []job.Attempt) *Outputs {
	o := &Outputs{}
	latest := map[string]int{}
	for _, a := range attempts {
		if a.State != job.AttemptSucceeded || len(a.Outputs) == 0 {
			continue
		}
		k := fmt.Sprintf("%s\x00%d", a.Task, a.Index)
		if n, ok := latest[k]; ok && n > a.Attempt {
			continue
		}
		latest[k] = a.Attempt
		n := 1
		for i := range s.Tasks {
			if s.Tasks[i].Name == a.Task {
				n = s.Tasks[i].Instances
			}
		}
		o.Record(a.Task, n, a.Index, a.Outputs)
	}
	return o
}

// Param returns an output parameter: of one instance (index >= 0), or
// over all (index -1): the value for a task of one instance, a JSON list of
// every instance's value in index order for more.
func (o *Outputs) Param(task string, index int, name string) (string, error) {
	var t *taskOutputs
	if o != nil {
		t = o.tasks[task]
	}
	missing := func(i int) error {
		if index < 0 && t != nil && t.instances > 1 {
			return fmt.Errorf("task %s instance %d left no output %q", task, i, name)
		}
		return fmt.Errorf("task %s left no output %q", task, name)
	}
	if t == nil {
		return "", missing(max(index, 0))
	}
	if index >= 0 || t.instances <= 1 {
		v, ok := t.byIndex[max(index, 0)][name]
		if !ok {
			return "", missing(max(index, 0))
		}
		return v, nil
	}
	l := make([]string, t.instances)
	for i := range l {
		v, ok := t.byIndex[i][name]
		if !ok {
			return "", missing(i)
		}
		l[i] = v
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// Parameters returns every output of a task as when sees it: the
// aggregate of each name (see Param) that every instance left.
func (o *Outputs) Parameters(task string) map[string]string {
	if o == nil || o.tasks[task] == nil {
		return nil
	}
	names := map[string]bool{}
	for _, vs := range o.tasks[task].byIndex {
		for k := range vs {
			names[k] = true
		}
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if v, err := o.Param(task, -1, k); err == nil {
			out[k] = v
		}
	}
	return out
}

// whenTask is one task in a when condition: tasks.NAME.outputs.parameters.P.
type whenTask struct {
	Outputs whenOutputs `expr:"outputs"`
}

type whenOutputs struct {
	Parameters map[string]string `expr:"parameters"`
}

// whenTasks is the tasks map of a when condition's environment.
func (o *Outputs) whenTasks() map[string]whenTask {
	if o == nil {
		return nil
	}
	out := make(map[string]whenTask, len(o.tasks))
	for name := range o.tasks {
		out[name] = whenTask{Outputs: whenOutputs{Parameters: o.Parameters(name)}}
	}
	return out
}

// missingOutput returns why a ready task cannot start: a template of its
// refers to an output its upstream did not leave ("" if none).
func missingOutput(refs []spec.OutputRef, o *Outputs) string {
	for _, r := range refs {
		if _, err := o.Param(r.Task, r.Index, r.Param); err != nil {
			return fmt.Sprintf("%s: {{%s}}: %v", r.Field, r, err)
		}
	}
	return ""
}

// Output references are checked at submit (the spec parser cannot import
// this package): each must name an upstream task.
func init() {
	spec.RegisterCheck(func(s *job.Spec) error {
		g, err := FromSpec(s)
		if err != nil {
			return err
		}
		if err := spec.CheckOutputRefs(s, g.Upstream); err != nil {
			return err
		}
		for i := range s.Tasks {
			if r := s.Tasks[i].Repeat; r != nil {
				if _, err := CompileRepeat(fmt.Sprintf("tasks[%d].repeat", i), r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// RepeatCond is a compiled repeat condition (job.Repeat).
type RepeatCond struct {
	while string
	limit int
	prog  *vm.Program
}

// repeatEnv is the environment of a repeat condition: the instance's own
// outputs.
type repeatEnv struct {
	Outputs whenOutputs `expr:"outputs"`
}

// MaxRepeatLimit caps job.Repeat.Limit (spec.MaxRepeatLimit).
const MaxRepeatLimit = spec.MaxRepeatLimit

// CompileRepeat checks and compiles r; path is its field path
// (tasks[1].repeat). Errors are *fielderr.FieldError.
func CompileRepeat(path string, r *job.Repeat) (*RepeatCond, error) {
	if r.While == "" {
		return nil, ferr(path+".while", "required: a condition on outputs.parameters, e.g. outputs.parameters.result == \"tails\"")
	}
	if r.Limit < 1 || r.Limit > MaxRepeatLimit {
		return nil, ferr(path+".limit", "must be between 1 and %d, got %d", MaxRepeatLimit, r.Limit)
	}
	if err := spec.CheckExpr(path+".while", r.While); err != nil {
		return nil, err
	}
	prog, err := expr.Compile(r.While, expr.Env(repeatEnv{}), expr.AsBool())
	if err != nil {
		return nil, ferr(path+".while", "bad condition %q: %v", r.While, firstLine(err))
	}
	return &RepeatCond{while: r.While, limit: r.Limit, prog: prog}, nil
}

// Again decides whether an instance that succeeded at attempt number
// attempt (from 0) with outputs runs another round, and says why: the
// condition holds and the limit is not reached. A condition that fails to
// evaluate ends the repetition with the error as the reason.
func (c *RepeatCond) Again(attempt int, outputs map[string]string) (bool, string) {
	v, err := expr.Run(c.prog, repeatEnv{Outputs: whenOutputs{Parameters: outputs}})
	switch {
	case err != nil:
		return false, fmt.Sprintf("repeat stopped: while %q failed: %s", c.while, firstLine(err))
	case !v.(bool):
		return false, fmt.Sprintf("repeat ended after round %d: while is false", attempt+1)
	case attempt+1 >= c.limit:
		return false, fmt.Sprintf("repeat stopped at its limit of %d attempts (while still holds)", c.limit)
	}
	return true, fmt.Sprintf("repeat: round %d of at most %d, while holds", attempt+2, c.limit)
}

// FanOutItems reads the JSON list a withParam task fans out over from the
// outputs: ok is false while the output is not there; err says why a list
// that is there cannot be used (not a JSON list, empty, more than
// spec.MaxFanOutItems items).
func FanOutItems(path string, t *job.TaskSpec, o *Outputs) (items []any, ok bool, err error) {
	r, isRef := spec.FanOutRef(path, t)
	if !isRef {
		return nil, false, nil
	}
	v, perr := o.Param(r.Task, r.Index, r.Param)
	if perr != nil {
		return nil, false, nil
	}
	if err := json.Unmarshal([]byte(v), &items); err != nil {
		return nil, true, fmt.Errorf("withParam {{%s}}: not a JSON list: %.80q", r, v)
	}
	switch {
	case len(items) == 0:
		return nil, true, fmt.Errorf("withParam {{%s}}: the list is empty", r)
	case len(items) > spec.MaxFanOutItems:
		return nil, true, fmt.Errorf("withParam {{%s}}: %d items, more than %d", r, len(items), spec.MaxFanOutItems)
	}
	return items, true, nil
}

// ResolveFanOut returns j with every withParam task whose list is known
// (from outputs) fanned out: WithItems set to the list and Instances to
// its length, on a copy (j itself is returned when nothing changes).
func ResolveFanOut(j *job.Job, o *Outputs) *job.Job {
	var tasks []job.TaskSpec
	for i := range j.Spec.Tasks {
		t := &j.Spec.Tasks[i]
		if t.WithParam == "" || t.WithItems != nil {
			continue
		}
		items, ok, err := FanOutItems(fmt.Sprintf("tasks[%d]", i), t, o)
		if !ok || err != nil {
			continue
		}
		if tasks == nil {
			tasks = append([]job.TaskSpec(nil), j.Spec.Tasks...)
		}
		tasks[i].WithItems, tasks[i].Instances = items, len(items)
	}
	if tasks == nil {
		return j
	}
	c := *j
	c.Spec.Tasks = tasks
	return &c
}

// fanOut says why a ready withParam task cannot start ("" if it can): its
// list is missing or unusable.
func (n *Node) fanOut(i int, opt Options) string {
	if n.FanOut == nil {
		return ""
	}
	t := &n.FanOut.Tasks[i]
	items, ok, err := FanOutItems("", t, opt.Outputs)
	switch {
	case err != nil:
		return err.Error()
	case !ok:
		return fmt.Sprintf("withParam %s: the output is missing", t.WithParam)
	case opt.CheckFanOut == nil:
		return ""
	}
	s := *n.FanOut
	s.Tasks = append([]job.TaskSpec(nil), n.FanOut.Tasks...)
	s.Tasks[i].WithItems, s.Tasks[i].Instances = items, len(items)
	if err := opt.CheckFanOut(&s, i); err != nil {
		return fmt.Sprintf("withParam %s: %v", t.WithParam, err)
	}
	return ""
}
