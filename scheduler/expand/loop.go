package expand

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Sequence is withSequence: numbers from Start, to End (inclusive,
// counting down when End < Start) or Count of them, each rendered with
// Format (a printf verb for one integer, default "%d").
type Sequence struct {
	Start  int    `json:"start,omitempty"`
	End    *int   `json:"end,omitempty"`
	Count  *int   `json:"count,omitempty"`
	Format string `json:"format,omitempty"`
}

// Loop is a task's loop: at most one of WithItems and WithSequence.
type Loop struct {
	WithItems    []any     `json:"withItems,omitempty"`
	WithSequence *Sequence `json:"withSequence,omitempty"`
}

// Items is a compiled loop: Len items, each computed on demand.
type Items interface {
	Len() int
	Item(i int) any
}

type list []any

func (l list) Len() int       { return len(l) }
func (l list) Item(i int) any { return l[i] }

// seq is a sequence held as four words, never materialised.
type seq struct {
	start, step, n int
	format         string
}

func (s seq) Len() int { return s.n }
func (s seq) Item(i int) any {
	v := s.start + i*s.step
	if s.format == "" {
		return strconv.Itoa(v)
	}
	return fmt.Sprintf(s.format, v)
}

// Compile validates l; path is the task's field path (tasks[2]). A task
// without a loop compiles to nil.
func (l Loop) Compile(path string) (Items, error) {
	switch {
	case l.WithItems != nil && l.WithSequence != nil:
		return nil, ferr(path+".withSequence", "give withItems or withSequence, not both")
	case l.WithItems != nil:
		if len(l.WithItems) == 0 {
			return nil, ferr(path+".withItems", "must not be empty")
		}
		if len(l.WithItems) > spec.MaxInstances {
			return nil, ferr(path+".withItems", "at most %d items", spec.MaxInstances)
		}
		return list(l.WithItems), nil
	case l.WithSequence != nil:
		return l.WithSequence.compile(path + ".withSequence")
	}
	return nil, nil
}

func (s Sequence) compile(path string) (Items, error) {
	out := seq{start: s.Start, step: 1}
	switch {
	case s.End != nil && s.Count != nil:
		return nil, ferr(path+".count", "give end or count, not both")
	case s.Count != nil:
		if *s.Count < 1 || *s.Count > spec.MaxInstances {
			return nil, ferr(path+".count", "must be between 1 and %d, got %d", spec.MaxInstances, *s.Count)
		}
		out.n = *s.Count
	case s.End != nil:
		d := *s.End - s.Start
		if d < 0 {
			out.step, d = -1, -d
		}
		if d >= spec.MaxInstances {
			return nil, ferr(path+".end", "the sequence %d..%d has more than %d numbers", s.Start, *s.End, spec.MaxInstances)
		}
		out.n = d + 1
	default:
		return nil, ferr(path, "give end or count")
	}
	if s.Format != "" {
		verbs := strings.Count(strings.ReplaceAll(s.Format, "%%", ""), "%")
		if probe := fmt.Sprintf(s.Format, 0); verbs != 1 || strings.Contains(probe, "%!") {
			return nil, ferr(path+".format", "want one printf verb for an integer (e.g. %%05d), got %q", s.Format)
		}
		out.format = s.Format
	}
	return out, nil
}

func ferr(field, format string, a ...any) error {
	return &fielderr.FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Instance is one instance's concrete command line and environment.
type Instance struct {
	Command string
	Args    []string
	Env     map[string]string
}

// ItemEnv is the environment variable carrying the instance's item.
const ItemEnv = "GLEANER_ITEM"

// Expanded is a task whose instances are computed on demand.
type Expanded struct {
	// Task is the task with parameters substituted and Instances set to
	// the loop's length.
	Task    job.TaskSpec
	items   Items
	command tmpl
	args    []tmpl
	env     map[string]tmpl
}

// Task expands t (at field path, e.g. tasks[2]) with its loop and the job's
// parameters. Parameters are substituted now; item and index per instance.
// With a loop, Task.Instances becomes the loop's length (a task giving both
// is an error unless they agree). Every item reference is checked against
// every listed item, so Instance fails only for reasons found here.
func Task(path string, t job.TaskSpec, loop Loop, params map[string]string) (*Expanded, error) {
	items, err := loop.Compile(path)
	if err != nil {
		return nil, err
	}
	e := &Expanded{Task: t, items: items}
	compile := func(field, s string) (tmpl, string, error) {
		tp, err := parse(s)
		if err != nil {
			return nil, "", ferr(field, "%v", err)
		}
		for _, p := range tp.params() {
			if _, ok := params[p]; !ok {
				return nil, "", ferr(field, "unknown parameter %q", p)
			}
		}
		if items == nil && t.WithParam == "" { // withParam: items come at run time
			for _, sg := range tp {
				if sg.ref == refItem || strings.HasPrefix(sg.ref, refItem+".") {
					return nil, "", ferr(field, "{{%s}} without withItems or withSequence", sg.ref)
				}
			}
		}
		// Substitute parameters now (as literals, so a value containing
		// {{ is never read as a placeholder), keeping item/index.
		tp = tp.withParams(params)
		flat := tp.String()
		if !tp.perInstance() {
			return nil, flat, nil
		}
		return tp, flat, nil
	}
	if e.command, e.Task.Command, err = compile(path+".command", t.Command); err != nil {
		return nil, err
	}
	e.Task.Args = slices.Clone(t.Args)
	for i, a := range t.Args {
		var tp tmpl
		if tp, e.Task.Args[i], err = compile(fmt.Sprintf("%s.args[%d]", path, i), a); err != nil {
			return nil, err
		}
		if tp != nil {
			if e.args == nil {
				e.args = make([]tmpl, len(t.Args))
			}
			e.args[i] = tp
		}
	}
	e.Task.Env = maps.Clone(t.Env)
	for _, k := range slices.Sorted(maps.Keys(t.Env)) {
		var tp tmpl
		if tp, e.Task.Env[k], err = compile(path+".env."+k, t.Env[k]); err != nil {
			return nil, err
		}
		if tp != nil {
			if e.env == nil {
				e.env = map[string]tmpl{}
			}
			e.env[k] = tp
		}
	}
	if items != nil {
		if t.Instances > 1 && t.Instances != items.Len() {
			return nil, ferr(path+".instances", "%d disagrees with the loop's %d items", t.Instances, items.Len())
		}
		e.Task.Instances = items.Len()
		if l, ok := items.(list); ok {
			if err := e.check(path, l); err != nil {
				return nil, err
			}
		} else if err := e.check(path, list{items.Item(0)}); err != nil {
			// A sequence's items are all strings: one is enough.
			return nil, err
		}
	}
	return e, nil
}

// check renders every item's references once, so Instance cannot fail.
func (e *Expanded) check(path string, l list) error {
	for i, item := range l {
		try := func(field string, t tmpl) error {
			if _, err := t.render(nil, i, item, false); err != nil {
				return ferr(field, "withItems[%d]: %v", i, err)
			}
			return nil
		}
		if err := try(path+".command", e.command); err != nil {
			return err
		}
		for k, a := range e.args {
			if err := try(fmt.Sprintf("%s.args[%d]", path, k), a); err != nil {
				return err
			}
		}
		for _, k := range slices.Sorted(maps.Keys(e.env)) {
			if err := try(path+".env."+k, e.env[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Len is the number of instances.
func (e *Expanded) Len() int { return e.Task.Instances }

// Item returns instance i's item (nil without a loop).
func (e *Expanded) Item(i int) any {
	if e.items == nil {
		return nil
	}
	return e.items.Item(i)
}

// Instance computes instance i's command, args and env (with
// GLEANER_ITEM set to the item when the task has a loop). Output
// references stay as written: see InstanceWith.
func (e *Expanded) Instance(i int) (Instance, error) {
	return e.InstanceWith(i, nil)
}

// InstanceWith is Instance with upstream outputs substituted from outs; a
// missing output is an error naming the placeholder.
func (e *Expanded) InstanceWith(i int, outs OutputSource) (Instance, error) {
	if i < 0 || i >= e.Len() {
		return Instance{}, fmt.Errorf("instance %d of task %s: out of range 0..%d", i, e.Task.Name, e.Len()-1)
	}
	item := e.Item(i)
	in := Instance{Command: e.Task.Command, Args: e.Task.Args, Env: e.Task.Env}
	var err error
	if e.command != nil {
		if in.Command, err = e.command.renderWith(nil, i, item, false, outs); err != nil {
			return Instance{}, err
		}
	}
	if e.args != nil {
		in.Args = slices.Clone(e.Task.Args)
		for k, t := range e.args {
			if t == nil {
				continue
			}
			if in.Args[k], err = t.renderWith(nil, i, item, false, outs); err != nil {
				return Instance{}, err
			}
		}
	}
	if e.env != nil || e.items != nil {
		in.Env = maps.Clone(e.Task.Env)
		if in.Env == nil {
			in.Env = map[string]string{}
		}
		for k, t := range e.env {
			if in.Env[k], err = t.renderWith(nil, i, item, false, outs); err != nil {
				return Instance{}, err
			}
		}
		if e.items != nil {
			in.Env[ItemEnv] = show(item)
		}
	}
	return in, nil
}
