package spec

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Artifacts (issue 14): a task's outputs.artifacts are files or directories
// of its sandbox uploaded to the scheduler's artifact store when an instance
// succeeds; a later task's inputs.artifacts fetch them into its sandbox
// before it starts (executor/artifacts).
//
//	outputs: {artifacts: [{name: model, path: out/model.bin, maxSize: 104857600}]}
//	inputs:  {artifacts: [{name: model, from: tasks.train.outputs.artifacts.model, path: in/model.bin}]}

// Bounds of artifacts.
const (
	// MaxArtifacts bounds a task's output artifacts, and its input artifacts.
	MaxArtifacts = 32
	// DefaultArtifactMaxSize is an output artifact's size bound when it
	// gives no maxSize (1 GiB, after tar+gzip for a directory).
	DefaultArtifactMaxSize int64 = 1 << 30
	// MaxArtifactMaxSize is the largest maxSize accepted (16 GiB).
	MaxArtifactMaxSize int64 = 16 << 30
	// MaxArtifactPath bounds an artifact path's length in bytes.
	MaxArtifactPath = 1024
)

// taskIOFields are the task keys parsed here.
var taskIOFields = []string{"outputs", "inputs"}

// outputsFields and inputsFields are the keys of a task's outputs and inputs
// blocks (output parameters join them there).
var (
	outputsFields = []string{"artifacts"}
	inputsFields  = []string{"artifacts"}
)

var artifactNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// artifactFromRE matches an input's from: tasks.<task>.outputs.artifacts.<name>.
var artifactFromRE = regexp.MustCompile(`^tasks\.([a-z0-9-]{1,63})\.outputs\.artifacts\.([A-Za-z0-9][A-Za-z0-9_-]{0,62})$`)

// ArtifactFrom splits an input's from into the producing task and its
// output artifact's name.
func ArtifactFrom(from string) (task, name string, ok bool) {
	m := artifactFromRE.FindStringSubmatch(from)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// parseTaskIO reads a task's outputs and inputs blocks (their artifacts).
func parseTaskIO(o obj, t *job.TaskSpec) error {
	if v, ok := o.m["outputs"]; ok && v != nil {
		ob, err := asObj(o.field("outputs"), v)
		if err != nil {
			return err
		}
		if err := ob.known(outputsFields...); err != nil {
			return err
		}
		l, err := ob.objList("artifacts")
		if err != nil {
			return err
		}
		for _, ao := range l {
			if err := ao.known("name", "path", "maxSize"); err != nil {
				return err
			}
			var a job.OutputArtifact
			if a.Name, err = ao.required("name"); err != nil {
				return err
			}
			if a.Path, err = ao.required("path"); err != nil {
				return err
			}
			n, ok, err := ao.integer("maxSize")
			if err != nil {
				return err
			}
			if ok {
				a.MaxSize = int64(n)
			}
			if t.Outputs == nil {
				t.Outputs = &job.TaskOutputs{}
			}
			t.Outputs.Artifacts = append(t.Outputs.Artifacts, a)
		}
	}
	if v, ok := o.m["inputs"]; ok && v != nil {
		ib, err := asObj(o.field("inputs"), v)
		if err != nil {
			return err
		}
		if err := ib.known(inputsFields...); err != nil {
			return err
		}
		l, err := ib.objList("artifacts")
		if err != nil {
			return err
		}
		for _, ao := range l {
			if err := ao.known("name", "from", "path"); err != nil {
				return err
			}
			var a job.InputArtifact
			if a.Name, err = ao.required("name"); err != nil {
				return err
			}
			if a.From, err = ao.required("from"); err != nil {
				return err
			}
			if a.Path, err = ao.required("path"); err != nil {
				return err
			}
			if t.Inputs == nil {
				t.Inputs = &job.TaskInputs{}
			}
			t.Inputs.Artifacts = append(t.Inputs.Artifacts, a)
		}
	}
	return nil
}

// objList reads k as a list of objects (at most MaxArtifacts).
func (o obj) objList(k string) ([]obj, error) {
	v, ok := o.m[k]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, ferr(o.field(k), "must be a list, got %s", kind(v))
	}
	if len(l) > MaxArtifacts {
		return nil, ferr(o.field(k), "at most %d entries, got %d", MaxArtifacts, len(l))
	}
	out := make([]obj, 0, len(l))
	for i, e := range l {
		eo, err := asObj(fmt.Sprintf("%s[%d]", o.field(k), i), e)
		if err != nil {
			return nil, err
		}
		out = append(out, eo)
	}
	return out, nil
}

// required reads k as a non-empty string.
func (o obj) required(k string) (string, error) {
	s, ok, err := o.str(k)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return "", ferr(o.field(k), "required")
	}
	return s, nil
}

// CheckArtifactPath reports why p is not a path inside the sandbox: it must
// be relative, clean of "..", not the sandbox itself, and bounded.
func CheckArtifactPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("required")
	case len(p) > MaxArtifactPath:
		return fmt.Errorf("longer than %d bytes", MaxArtifactPath)
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("contains a NUL byte")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q must be relative to the sandbox, not absolute", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("%q escapes the sandbox (..)", p)
		}
	}
	if c := path.Clean(p); c == "." {
		return fmt.Errorf("%q is the sandbox itself; name a file or directory in it", p)
	}
	return nil
}

// validateArtifacts checks artifact names, paths and sizes, and that every
// input comes from an output of a task upstream of it (through depends or
// dependsExpr) whose instances match: one producer instance for all, or as
// many as the consumer (instance i takes instance i's).
func validateArtifacts(s *job.Spec) error {
	index := map[string]int{}
	for i, t := range s.Tasks {
		index[t.Name] = i
	}
	for i, t := range s.Tasks {
		p := fmt.Sprintf("tasks[%d]", i)
		if t.Outputs != nil {
			if len(t.Outputs.Artifacts) > MaxArtifacts {
				return ferr(p+".outputs.artifacts", "at most %d entries, got %d", MaxArtifacts, len(t.Outputs.Artifacts))
			}
			names := map[string]int{}
			for k, a := range t.Outputs.Artifacts {
				ap := fmt.Sprintf("%s.outputs.artifacts[%d]", p, k)
				if !artifactNameRE.MatchString(a.Name) {
					return ferr(ap+".name", "%q must match [A-Za-z0-9][A-Za-z0-9_-]{0,62}", a.Name)
				}
				if j, dup := names[a.Name]; dup {
					return ferr(ap+".name", "%q duplicates %s.outputs.artifacts[%d].name", a.Name, p, j)
				}
				names[a.Name] = k
				if err := CheckArtifactPath(a.Path); err != nil {
					return ferr(ap+".path", "%v", err)
				}
				if a.MaxSize < 0 || a.MaxSize > MaxArtifactMaxSize {
					return ferr(ap+".maxSize", "must be between 1 and %d bytes (0 = %d), got %d", MaxArtifactMaxSize, DefaultArtifactMaxSize, a.MaxSize)
				}
			}
		}
		if t.Inputs == nil {
			continue
		}
		if len(t.Inputs.Artifacts) > MaxArtifacts {
			return ferr(p+".inputs.artifacts", "at most %d entries, got %d", MaxArtifacts, len(t.Inputs.Artifacts))
		}
		up := upstreamOf(s, index, i)
		names, paths := map[string]int{}, map[string]int{}
		for k, a := range t.Inputs.Artifacts {
			ap := fmt.Sprintf("%s.inputs.artifacts[%d]", p, k)
			if !artifactNameRE.MatchString(a.Name) {
				return ferr(ap+".name", "%q must match [A-Za-z0-9][A-Za-z0-9_-]{0,62}", a.Name)
			}
			if j, dup := names[a.Name]; dup {
				return ferr(ap+".name", "%q duplicates %s.inputs.artifacts[%d].name", a.Name, p, j)
			}
			names[a.Name] = k
			if err := CheckArtifactPath(a.Path); err != nil {
				return ferr(ap+".path", "%v", err)
			}
			clean := path.Clean(a.Path)
			if j, dup := paths[clean]; dup {
				return ferr(ap+".path", "%q is also %s.inputs.artifacts[%d].path", a.Path, p, j)
			}
			paths[clean] = k
			from, name, ok := ArtifactFrom(a.From)
			if !ok {
				return ferr(ap+".from", "%q must be tasks.<task>.outputs.artifacts.<name>", a.From)
			}
			j, ok := index[from]
			if !ok {
				return ferr(ap+".from", "unknown task %q", from)
			}
			if j == i {
				return ferr(ap+".from", "task %q cannot take its own output", from)
			}
			if !up[j] {
				return ferr(ap+".from", "task %q is not upstream of %q: add it to depends", from, t.Name)
			}
			producer := s.Tasks[j]
			found := false
			if producer.Outputs != nil {
				for _, o := range producer.Outputs.Artifacts {
					found = found || o.Name == name
				}
			}
			if !found {
				return ferr(ap+".from", "task %q has no output artifact %q", from, name)
			}
			if producer.Instances != 1 && producer.Instances != t.Instances {
				return ferr(ap+".from", "task %q has %d instances and %q %d: an input comes from one instance, or from the instance of the same index when the counts are equal",
					from, producer.Instances, t.Name, t.Instances)
			}
		}
	}
	return nil
}

// upstreamOf marks the tasks task i depends on, directly or not, through
// depends or the task names in dependsExpr.
func upstreamOf(s *job.Spec, index map[string]int, i int) []bool {
	seen := make([]bool, len(s.Tasks))
	stack := []int{i}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range directDeps(s.Tasks[k], index) {
			if !seen[d] {
				seen[d] = true
				stack = append(stack, d)
			}
		}
	}
	return seen
}

// directDeps is the indexes of the tasks t names in depends or dependsExpr.
func directDeps(t job.TaskSpec, index map[string]int) []int {
	var out []int
	for _, d := range t.Depends {
		if j, ok := index[d]; ok {
			out = append(out, j)
		}
	}
	for _, w := range strings.FieldsFunc(t.DependsExpr, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
	}) {
		if j, ok := index[w]; ok {
			out = append(out, j)
		}
	}
	return out
}

// OutputMaxSize is an output artifact's size bound: its maxSize, else the
// default.
func OutputMaxSize(a job.OutputArtifact) int64 {
	if a.MaxSize > 0 {
		return a.MaxSize
	}
	return DefaultArtifactMaxSize
}

// ResolvedInput is an input artifact of one instance: which producer
// instance's output to fetch, bounded by the producer's maxSize.
type ResolvedInput struct {
	Name, Path         string
	FromTask, FromName string
	FromIndex          int
	MaxSize            int64
}

// ResolveInputs lists the input artifacts of instance index of task in a
// validated spec: a producer with one instance gives it to every instance,
// else instance i takes the producer's instance i.
func ResolveInputs(s *job.Spec, task string, index int) []ResolvedInput {
	var t *job.TaskSpec
	producers := map[string]*job.TaskSpec{}
	for i := range s.Tasks {
		producers[s.Tasks[i].Name] = &s.Tasks[i]
		if s.Tasks[i].Name == task {
			t = &s.Tasks[i]
		}
	}
	if t == nil || t.Inputs == nil {
		return nil
	}
	out := make([]ResolvedInput, 0, len(t.Inputs.Artifacts))
	for _, in := range t.Inputs.Artifacts {
		from, name, ok := ArtifactFrom(in.From)
		p := producers[from]
		if !ok || p == nil {
			continue // not a validated spec
		}
		r := ResolvedInput{Name: in.Name, Path: in.Path, FromTask: from, FromName: name, MaxSize: DefaultArtifactMaxSize}
		if p.Instances != 1 {
			r.FromIndex = index
		}
		if p.Outputs != nil {
			for _, o := range p.Outputs.Artifacts {
				if o.Name == name {
					r.MaxSize = OutputMaxSize(o)
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// UsesArtifacts names the field of a task's artifacts ("outputs.artifacts"
// or "inputs.artifacts"), or is empty when it has none.
func UsesArtifacts(t *job.TaskSpec) string {
	switch {
	case t.Outputs != nil && len(t.Outputs.Artifacts) > 0:
		return "outputs.artifacts"
	case t.Inputs != nil && len(t.Inputs.Artifacts) > 0:
		return "inputs.artifacts"
	}
	return ""
}
