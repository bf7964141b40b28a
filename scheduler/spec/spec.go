package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
)

func ferr(field, format string, a ...any) *fielderr.FieldError {
	return fielderr.New(field, format, a...)
}

// Limits and defaults.
const (
	MaxInstances     = 10_000_000
	DefaultInstances = 1
	DefaultRetries   = 3
	DefaultCPUs      = 0.1
	DefaultMem       = 32
	DefaultPriority  = 100
	MaxPriority      = 1000
)

var accountRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

var nameRE = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)

// ValidName reports whether s is a valid job or task name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// Parse reads a YAML or JSON job spec, rejecting unknown fields, and returns
// it validated with defaults applied.
func Parse(data []byte) (*job.Spec, error) {
	js, err := YAMLToJSON("spec", data)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, ferr("", "parse spec: %v", err)
	}
	return fromDoc(doc)
}

type obj struct {
	path string
	m    map[string]any
}

func asObj(path string, v any) (obj, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return obj{}, ferr(path, "must be an object, got %s", kind(v))
	}
	return obj{path, m}, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func (o obj) field(k string) string {
	if o.path == "" {
		return k
	}
	return o.path + "." + k
}

// known rejects keys not in allowed (sorted for a stable error).
func (o obj) known(allowed ...string) error {
	var keys []string
	for k := range o.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		found := false
		for _, a := range allowed {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			if near := Nearest(k, allowed); near != "" {
				return ferr(o.field(k), "unknown field; did you mean %q?", near)
			}
			return ferr(o.field(k), "unknown field")
		}
	}
	return nil
}

func (o obj) str(k string) (string, bool, error) {
	v, ok := o.m[k]
	if !ok || v == nil {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, ferr(o.field(k), "must be a string, got %s", kind(v))
	}
	return s, true, nil
}

func (o obj) num(k string) (float64, bool, error) {
	v, ok := o.m[k]
	if !ok || v == nil {
		return 0, false, nil
	}
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, ferr(o.field(k), "must be a number, got %s", kind(v))
	}
	return f, true, nil
}

func (o obj) integer(k string) (int, bool, error) {
	f, ok, err := o.num(k)
	if err != nil || !ok {
		return 0, ok, err
	}
	if f != math.Trunc(f) || math.Abs(f) > 1e15 {
		return 0, false, ferr(o.field(k), "must be a whole number, got %v", f)
	}
	return int(f), true, nil
}

func (o obj) strList(k string) ([]string, error) {
	v, ok := o.m[k]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, ferr(o.field(k), "must be a list of strings, got %s", kind(v))
	}
	out := make([]string, 0, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, ferr(fmt.Sprintf("%s[%d]", o.field(k), i), "must be a string, got %s", kind(e))
		}
		out = append(out, s)
	}
	return out, nil
}

func (o obj) strMap(k string) (map[string]string, error) {
	v, ok := o.m[k]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, ferr(o.field(k), "must be an object of strings, got %s", kind(v))
	}
	out := make(map[string]string, len(m))
	for mk, mv := range m {
		switch x := mv.(type) {
		case string:
			out[mk] = x
		case float64, bool:
			out[mk] = fmt.Sprint(x)
		default:
			return nil, ferr(o.field(k)+"."+mk, "must be a string, got %s", kind(mv))
		}
	}
	return out, nil
}

func fromDoc(doc any) (*job.Spec, error) {
	root, err := asObj("", doc)
	if err != nil {
		return nil, err
	}
	if err := root.known(append([]string{"name", "tasks", "priority", "user", "queue", "labels"}, batchJobFields...)...); err != nil {
		return nil, err
	}
	var s job.Spec
	if s.Labels, err = parseJobLabels(root); err != nil {
		return nil, err
	}
	s.Priority = DefaultPriority
	if p, ok, err := root.integer("priority"); err != nil {
		return nil, err
	} else if ok {
		s.Priority = p
	}
	if s.User, _, err = root.str("user"); err != nil {
		return nil, err
	}
	if s.Queue, _, err = root.str("queue"); err != nil {
		return nil, err
	}
	name, ok, err := root.str("name")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ferr("name", "required")
	}
	if !ValidName(name) {
		return nil, ferr("name", "%q must match [a-z0-9-]{1,63}", name)
	}
	s.Name = name
	tl, ok := root.m["tasks"].([]any)
	if !ok {
		if _, present := root.m["tasks"]; present {
			return nil, ferr("tasks", "must be a list, got %s", kind(root.m["tasks"]))
		}
		return nil, ferr("tasks", "required: at least one task")
	}
	if len(tl) == 0 {
		return nil, ferr("tasks", "required: at least one task")
	}
	for i, tv := range tl {
		t, err := parseTask(fmt.Sprintf("tasks[%d]", i), tv)
		if err != nil {
			return nil, err
		}
		s.Tasks = append(s.Tasks, t)
	}
	if err := parseBatchJob(root, &s); err != nil {
		return nil, err
	}
	if err := Validate(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

func parseTask(path string, v any) (job.TaskSpec, error) {
	var t job.TaskSpec
	o, err := asObj(path, v)
	if err != nil {
		return t, err
	}
	if err := o.known(append([]string{"name", "command", "args", "env", "resources", "instances", "retries", "depends", "labels", "constraints"}, append(append(append(batchTaskFields, taskIOFields...), perIndexFields...), outputFields...)...)...); err != nil {
		return t, err
	}
	if t.Name, _, err = o.str("name"); err != nil {
		return t, err
	}
	if t.Command, _, err = o.str("command"); err != nil {
		return t, err
	}
	if t.Args, err = o.strList("args"); err != nil {
		return t, err
	}
	if t.Env, err = o.strMap("env"); err != nil {
		return t, err
	}
	if t.Labels, err = o.strMap("labels"); err != nil {
		return t, err
	}
	if err = parseBatchTask(o, &t); err != nil {
		return t, err
	}
	if err = parseTaskIO(o, &t); err != nil {
		return t, err
	}
	if err = parsePerIndex(o, &t); err != nil {
		return t, err
	}
	if err = parseRepeat(o, &t); err != nil {
		return t, err
	}
	if t.Constraints, err = constraintList(o); err != nil {
		return t, err
	}
	n, ok, err := o.integer("instances")
	if err != nil {
		return t, err
	}
	t.Instances = DefaultInstances
	if ok {
		t.Instances = n
	}
	t.Resources = job.Resources{CPUs: DefaultCPUs, Mem: DefaultMem}
	if rv, present := o.m["resources"]; present && rv != nil {
		ro, err := asObj(o.field("resources"), rv)
		if err != nil {
			return t, err
		}
		if err := ro.known("cpus", "mem", "disk", "gpus"); err != nil {
			return t, err
		}
		// A resource not given takes its default, as without resources.
		res := job.Resources{CPUs: DefaultCPUs, Mem: DefaultMem}
		for _, f := range []struct {
			k   string
			dst *float64
		}{{"cpus", &res.CPUs}, {"mem", &res.Mem}, {"disk", &res.Disk}, {"gpus", &res.GPUs}} {
			if v, ok, err := ro.num(f.k); err != nil {
				return t, err
			} else if ok {
				*f.dst = v
			}
		}
		t.Resources = res
	}
	return t, nil
}

// Validate checks a spec built in code or parsed (names, commands, resources,
// counts, dependencies and cycles).
func Validate(s *job.Spec) error {
	if !ValidName(s.Name) {
		return ferr("name", "%q must match [a-z0-9-]{1,63}", s.Name)
	}
	if len(s.Tasks) == 0 {
		return ferr("tasks", "required: at least one task")
	}
	if s.Priority < 0 || s.Priority > MaxPriority {
		return ferr("priority", "must be between 0 and %d, got %d", MaxPriority, s.Priority)
	}
	if s.User != "" && !accountRE.MatchString(s.User) {
		return ferr("user", "%q must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}", s.User)
	}
	if s.Queue != "" && !accountRE.MatchString(s.Queue) {
		return ferr("queue", "%q must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}", s.Queue)
	}
	index := map[string]int{}
	for i, t := range s.Tasks {
		p := fmt.Sprintf("tasks[%d]", i)
		if t.Name == "" {
			return ferr(p+".name", "required")
		}
		if !ValidName(t.Name) {
			return ferr(p+".name", "%q must match [a-z0-9-]{1,63}", t.Name)
		}
		if j, dup := index[t.Name]; dup {
			return ferr(p+".name", "%q duplicates tasks[%d].name", t.Name, j)
		}
		index[t.Name] = i
		switch {
		case t.Command == "" && len(t.Args) == 0:
			return ferr(p+".command", "required: command or args")
		case t.Command != "" && len(t.Args) > 0:
			return ferr(p+".args", "give either command or args, not both")
		}
		for k := range t.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return ferr(p+".env", "bad variable name %q", k)
			}
		}
		r := t.Resources
		for _, f := range []struct {
			k           string
			v           float64
			least, most float64
		}{{"cpus", r.CPUs, MinCPUs, MaxCPUs}, {"mem", r.Mem, MinMem, MaxMem}, {"disk", r.Disk, 0, MaxDisk}, {"gpus", r.GPUs, 0, MaxGPUs}} {
			if err := checkResource(p+".resources."+f.k, f.v, f.least, f.most); err != nil {
				return err
			}
		}
		if r.GPUs != math.Trunc(r.GPUs) {
			return ferr(p+".resources.gpus", "must be a whole number, got %v", r.GPUs)
		}
		if t.Instances < 1 || t.Instances > MaxInstances {
			return ferr(p+".instances", "must be between 1 and %d, got %d", MaxInstances, t.Instances)
		}
		if t.Retries < 0 {
			return ferr(p+".retries", "must be >= 0, got %d", t.Retries)
		}
		if _, err := placement.ParseConstraints(t.Constraints); err != nil {
			var pe *fielderr.FieldError
			if errors.As(err, &pe) {
				return ferr(p+"."+pe.Field, "%s", pe.Msg)
			}
			return ferr(p+".constraints", "%v", err)
		}
	}
	for i, t := range s.Tasks {
		seen := map[string]bool{}
		for k, d := range t.Depends {
			p := fmt.Sprintf("tasks[%d].depends[%d]", i, k)
			if _, ok := index[d]; !ok {
				return ferr(p, "unknown task %q", d)
			}
			if d == t.Name {
				return ferr(p, "task %q depends on itself", d)
			}
			if seen[d] {
				return ferr(p, "duplicate dependency %q", d)
			}
			seen[d] = true
		}
	}
	if cyc := findCycle(s.Tasks, index); cyc != nil {
		return ferr(fmt.Sprintf("tasks[%d].depends", index[cyc[0]]), "dependency cycle: %s", strings.Join(cyc, " -> "))
	}
	if err := validateArtifacts(s); err != nil {
		return err
	}
	return validateBatch(s)
}

// findCycle returns one dependency cycle (first node repeated last) or nil.
func findCycle(tasks []job.TaskSpec, index map[string]int) []string {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(tasks))
	var stack []string
	var visit func(i int) []string
	visit = func(i int) []string {
		color[i] = grey
		stack = append(stack, tasks[i].Name)
		for _, d := range tasks[i].Depends {
			j := index[d]
			switch color[j] {
			case grey:
				for k, n := range stack {
					if n == d {
						return append(append([]string{}, stack[k:]...), d)
					}
				}
			case white:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
		return nil
	}
	for i := range tasks {
		if color[i] == white {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

// constraintList reads constraints as a list of [field, OPERATOR, value]
// lists of strings (numbers are accepted as values, e.g. MAX_PER 2).
func constraintList(o obj) ([][]string, error) {
	v, ok := o.m["constraints"]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, ferr(o.field("constraints"), "must be a list of [field, OPERATOR, value] lists, got %s", kind(v))
	}
	out := make([][]string, 0, len(l))
	for i, e := range l {
		p := fmt.Sprintf("%s[%d]", o.field("constraints"), i)
		el, ok := e.([]any)
		if !ok {
			return nil, ferr(p, "must be a [field, OPERATOR, value] list, got %s", kind(e))
		}
		c := make([]string, 0, len(el))
		for k, x := range el {
			switch x := x.(type) {
			case string:
				c = append(c, x)
			case float64:
				c = append(c, fmt.Sprint(x))
			default:
				return nil, ferr(fmt.Sprintf("%s[%d]", p, k), "must be a string, got %s", kind(x))
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// AsFieldError returns the *fielderr.FieldError inside err, if any.
func AsFieldError(err error) (*fielderr.FieldError, bool) {
	var fe *fielderr.FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}
