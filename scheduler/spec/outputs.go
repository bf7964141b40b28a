package spec

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Output parameters (issue 14): a task writes small values as files in
// $GLEANER_OUTPUTS; tasks downstream refer to them in command, args and env
// templates and in when conditions:
//
//	{{tasks.split.outputs.parameters.count}}              the value; over a task of
//	                                                      several instances, a JSON
//	                                                      list of every instance's
//	{{tasks.split.instances.3.outputs.parameters.count}}  instance 3's value
//
// and in when: tasks.split.outputs.parameters.count (tasks["a-b"]... for a
// name with a dash). A reference to a task that is not upstream (not a
// dependency, directly or not) is refused at submit.

// OutputRef is one reference to an upstream task's output parameter.
type OutputRef struct {
	Field string // where it stands, e.g. tasks[2].args[0]
	Task  string
	// Index is the instance referred to, -1 for all (the aggregate).
	Index int
	Param string
}

// String writes the reference as a placeholder's body.
func (r OutputRef) String() string {
	if r.Index >= 0 {
		return fmt.Sprintf("tasks.%s.instances.%d.outputs.parameters.%s", r.Task, r.Index, r.Param)
	}
	return fmt.Sprintf("tasks.%s.outputs.parameters.%s", r.Task, r.Param)
}

// OutputPlaceholderRE matches the body of an output placeholder (between
// {{ and }}, spaces trimmed): task, optional instance index, parameter.
var OutputPlaceholderRE = regexp.MustCompile(`^tasks\.([a-z0-9-]{1,63})\.(?:instances\.([0-9]{1,8})\.)?outputs\.parameters\.([A-Za-z_][A-Za-z0-9_-]{0,62})$`)

// ParseOutputRef parses a placeholder body; ok is false when it is not an
// output reference.
func ParseOutputRef(body string) (OutputRef, bool) {
	m := OutputPlaceholderRE.FindStringSubmatch(body)
	if m == nil {
		return OutputRef{}, false
	}
	r := OutputRef{Task: m[1], Index: -1, Param: m[3]}
	if m[2] != "" {
		r.Index, _ = strconv.Atoi(m[2])
	}
	return r, true
}

var placeholderRE = regexp.MustCompile(`\{\{\s*(tasks\.[^{}]*?)\s*\}\}`)

// whenOutputRE finds output references in a when condition:
// tasks.NAME.outputs.parameters.P or tasks["NAME"].outputs.parameters.P.
var whenOutputRE = regexp.MustCompile(`tasks(?:\.([a-z0-9_]+)|\[\s*["']([a-z0-9-]+)["']\s*\])\.outputs\.parameters\.([A-Za-z_][A-Za-z0-9_]*)`)

// TemplateOutputRefs returns the output references in a task's command,
// args and env templates (path is the task's field path, tasks[2]).
// Malformed ones are left to the template parser's errors.
func TemplateOutputRefs(path string, t *job.TaskSpec) []OutputRef {
	var out []OutputRef
	scan := func(field, s string) {
		for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
			if r, ok := ParseOutputRef(m[1]); ok {
				r.Field = field
				out = append(out, r)
			}
		}
	}
	scan(path+".command", t.Command)
	for i, a := range t.Args {
		scan(fmt.Sprintf("%s.args[%d]", path, i), a)
	}
	keys := make([]string, 0, len(t.Env))
	for k := range t.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		scan(path+".env."+k, t.Env[k])
	}
	return out
}

// WhenOutputRefs returns the output references of a when condition.
func WhenOutputRefs(field, when string) []OutputRef {
	var out []OutputRef
	for _, m := range whenOutputRE.FindAllStringSubmatch(when, -1) {
		name := m[1]
		if name == "" {
			name = m[2]
		}
		out = append(out, OutputRef{Field: field, Task: name, Index: -1, Param: m[3]})
	}
	return out
}

// OutputRefs returns every output reference of task i of s.
func OutputRefs(s *job.Spec, i int) []OutputRef {
	p := fmt.Sprintf("tasks[%d]", i)
	t := &s.Tasks[i]
	refs := append(TemplateOutputRefs(p, t), WhenOutputRefs(p+".when", t.When)...)
	refs = append(refs, DependsOutputRefs(p+".depends", t.DependsExpr)...)
	if r, ok := FanOutRef(p, t); ok {
		refs = append(refs, r)
	}
	return refs
}

// CheckOutputRefs refuses a reference to an unknown task, to the task
// itself, to a task that is not upstream (upstream returns a task's
// dependencies, direct or not) or to an instance past the task's count.
func CheckOutputRefs(s *job.Spec, upstream func(task string) []string) error {
	index := make(map[string]int, len(s.Tasks))
	for i, t := range s.Tasks {
		index[t.Name] = i
	}
	for i := range s.Tasks {
		refs := OutputRefs(s, i)
		if len(refs) == 0 {
			continue
		}
		up := map[string]bool{}
		for _, u := range upstream(s.Tasks[i].Name) {
			up[u] = true
		}
		for _, r := range refs {
			j, known := index[r.Task]
			switch {
			case !known:
				return ferr(r.Field, "{{%s}}: unknown task %q", r, r.Task)
			case j == i:
				return ferr(r.Field, "{{%s}}: a task cannot use its own outputs", r)
			case !up[r.Task]:
				return ferr(r.Field, "{{%s}}: task %q is not upstream of %q (add it to depends)", r, r.Task, s.Tasks[i].Name)
			case r.Index >= s.Tasks[j].Instances && s.Tasks[j].Instances > 0:
				return ferr(r.Field, "{{%s}}: task %q has %d instances", r, r.Task, s.Tasks[j].Instances)
			}
		}
	}
	return nil
}

// MaxRepeatLimit caps repeat.limit: the attempts of one instance, rounds
// and retries together.
const MaxRepeatLimit = 100

// outputFields are the task keys parsed here.
var outputFields = []string{"repeat", "withParam"}

// MaxFanOutItems bounds the items of a withParam list (each is bounded by
// the output value's size).
const MaxFanOutItems = 1000

// parseRepeat reads repeat: {while, limit}; limit is required. The
// condition and the bounds are checked by scheduler/dag's registered check
// (dag.CompileRepeat).
func parseRepeat(o obj, t *job.TaskSpec) error {
	if err := parseWithParam(o, t); err != nil {
		return err
	}
	v, ok := o.m["repeat"]
	if !ok || v == nil {
		return nil
	}
	ro, err := asObj(o.field("repeat"), v)
	if err != nil {
		return err
	}
	if err := ro.known("while", "limit"); err != nil {
		return err
	}
	var r job.Repeat
	if r.While, _, err = ro.str("while"); err != nil {
		return err
	}
	n, given, err := ro.integer("limit")
	if err != nil {
		return err
	}
	if !given {
		return ferr(ro.field("limit"), "required: the most attempts an instance makes (1 to %d)", MaxRepeatLimit)
	}
	r.Limit = n
	t.Repeat = &r
	return nil
}

// parseWithParam reads withParam: exactly one output placeholder of an
// upstream task (checked with the other references), not with withItems,
// withSequence or instances.
func parseWithParam(o obj, t *job.TaskSpec) error {
	p, ok, err := o.str("withParam")
	if err != nil || !ok {
		return err
	}
	f := o.field("withParam")
	m := placeholderRE.FindStringSubmatch(strings.TrimSpace(p))
	if m == nil || m[0] != strings.TrimSpace(p) {
		return ferr(f, "must be one output placeholder such as \"{{tasks.gen.outputs.parameters.items}}\", got %q", p)
	}
	if _, ok := ParseOutputRef(m[1]); !ok {
		return ferr(f, "must be one output placeholder such as \"{{tasks.gen.outputs.parameters.items}}\", got %q", p)
	}
	for _, k := range []string{"withItems", "withSequence", "workQueue"} {
		if v, given := o.m[k]; given && v != nil {
			return ferr(f, "give withParam or %s, not both (the list sets the instances)", k)
		}
	}
	t.WithParam = strings.TrimSpace(p)
	return nil
}

// FanOutRef returns the output a task's withParam refers to.
func FanOutRef(path string, t *job.TaskSpec) (OutputRef, bool) {
	m := placeholderRE.FindStringSubmatch(t.WithParam)
	if m == nil {
		return OutputRef{}, false
	}
	r, ok := ParseOutputRef(m[1])
	r.Field = path + ".withParam"
	return r, ok
}

var outputNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,62}$`)

// ValidOutputName reports whether s is a valid output parameter name (the
// executor's file-name rule and the placeholders' charset).
func ValidOutputName(s string) bool { return outputNameRE.MatchString(s) }

// dependsOutputRE finds NAME.outputs.parameters.P in a depends expression
// (string literals removed first).
var dependsOutputRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.-])([a-z0-9][a-z0-9-]*)\.outputs\.parameters\.([A-Za-z_][A-Za-z0-9_-]*)`)

// DependsOutputRefs returns the output references of a depends
// expression: NAME.outputs.parameters.P (the aggregate, as in when).
func DependsOutputRefs(field, e string) []OutputRef {
	var b strings.Builder
	for i := 0; i < len(e); i++ {
		c := e[i]
		if c != '"' && c != '\'' && c != '`' {
			b.WriteByte(c)
			continue
		}
		for i++; i < len(e) && e[i] != c; i++ {
			if e[i] == '\\' && c != '`' {
				i++
			}
		}
		b.WriteByte(' ')
	}
	var out []OutputRef
	for _, m := range dependsOutputRE.FindAllStringSubmatch(b.String(), -1) {
		out = append(out, OutputRef{Field: field, Task: m[1], Index: -1, Param: m[2]})
	}
	return out
}
