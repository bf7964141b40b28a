package expand

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Ref kinds.
const (
	refItem  = "item"
	refIndex = "index"
	refParam = "inputs.parameters."
	refTasks = "tasks."
)

// OutputSource gives upstream tasks' output parameters to render
// {{tasks.…outputs.parameters.…}}: index -1 asks for the aggregate over the
// task's instances (dag.Outputs.Param).
type OutputSource interface {
	Param(task string, index int, name string) (string, error)
}

// segment is a literal or a reference in a parsed string.
type segment struct {
	lit string
	ref string          // "" for a literal; "item", "item.a.b", "index", "inputs.parameters.x", "tasks.…"
	out *spec.OutputRef // the parsed reference, for an output one
}

// tmpl is a parsed string with placeholders.
type tmpl []segment

var paramNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// parse splits s at {{ }}; refs are trimmed of spaces. It rejects unknown
// namespaces and unclosed braces.
func parse(s string) (tmpl, error) {
	var out tmpl
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				out = append(out, segment{lit: s})
			}
			return out, nil
		}
		if i > 0 {
			out = append(out, segment{lit: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q", s)
		}
		ref := strings.TrimSpace(s[i+2 : i+j])
		switch {
		case ref == refItem, ref == refIndex:
		case strings.HasPrefix(ref, refItem+"."):
			for _, f := range strings.Split(ref[len(refItem)+1:], ".") {
				if f == "" {
					return nil, fmt.Errorf("bad placeholder {{%s}}", ref)
				}
			}
		case strings.HasPrefix(ref, refParam):
			if !paramNameRE.MatchString(ref[len(refParam):]) {
				return nil, fmt.Errorf("bad parameter name in {{%s}}", ref)
			}
		case strings.HasPrefix(ref, refTasks):
			r, ok := spec.ParseOutputRef(ref)
			if !ok {
				return nil, fmt.Errorf("bad output reference {{%s}} (want tasks.<task>.outputs.parameters.<name> or tasks.<task>.instances.<i>.outputs.parameters.<name>)", ref)
			}
			out = append(out, segment{ref: ref, out: &r})
			s = s[i+j+2:]
			continue
		default:
			return nil, fmt.Errorf("unknown placeholder {{%s}} (want item, item.<field>, index, inputs.parameters.<name> or tasks.<task>.outputs.parameters.<name>)", ref)
		}
		out = append(out, segment{ref: ref})
		s = s[i+j+2:]
	}
}

// withParams replaces parameter references by their values (as literals);
// unknown ones stay references.
func (t tmpl) withParams(params map[string]string) tmpl {
	out := make(tmpl, 0, len(t))
	for _, s := range t {
		if p, ok := strings.CutPrefix(s.ref, refParam); ok {
			if v, ok := params[p]; ok {
				s = segment{lit: v}
			}
		}
		out = append(out, s)
	}
	return out
}

// String writes t back, references as {{ref}}.
func (t tmpl) String() string {
	var b strings.Builder
	for _, s := range t {
		if s.ref == "" {
			b.WriteString(s.lit)
		} else {
			b.WriteString("{{" + s.ref + "}}")
		}
	}
	return b.String()
}

// size is the length of String() without building it.
func (t tmpl) size() int {
	n := 0
	for _, s := range t {
		if s.ref == "" {
			n += len(s.lit)
		} else {
			n += len(s.ref) + 4
		}
	}
	return n
}

// perInstance reports whether t refers to item, index or an output (known
// only when the instance starts).
func (t tmpl) perInstance() bool {
	for _, s := range t {
		if s.ref == refIndex || s.ref == refItem || strings.HasPrefix(s.ref, refItem+".") || s.out != nil {
			return true
		}
	}
	return false
}

// params returns the parameter names t refers to.
func (t tmpl) params() []string {
	var out []string
	for _, s := range t {
		if p, ok := strings.CutPrefix(s.ref, refParam); ok {
			out = append(out, p)
		}
	}
	return out
}

// render substitutes; item may be nil when t has no item refs. Unknown
// parameters are left as written (for a later stage) when keep is set.
func (t tmpl) render(params map[string]string, index int, item any, keep bool) (string, error) {
	return t.renderWith(params, index, item, keep, nil)
}

// renderWith is render with upstream outputs; without a source an output
// reference stays as written (checking renders).
func (t tmpl) renderWith(params map[string]string, index int, item any, keep bool, outs OutputSource) (string, error) {
	var b strings.Builder
	for _, s := range t {
		switch {
		case s.ref == "":
			b.WriteString(s.lit)
		case s.out != nil:
			if outs == nil {
				b.WriteString("{{" + s.ref + "}}")
				continue
			}
			v, err := outs.Param(s.out.Task, s.out.Index, s.out.Param)
			if err != nil {
				return "", fmt.Errorf("{{%s}}: %w", s.ref, err)
			}
			b.WriteString(v)
		case s.ref == refIndex:
			b.WriteString(strconv.Itoa(index))
		case s.ref == refItem:
			b.WriteString(show(item))
		case strings.HasPrefix(s.ref, refItem+"."):
			v, err := field(item, s.ref[len(refItem)+1:])
			if err != nil {
				return "", err
			}
			b.WriteString(show(v))
		default:
			name := s.ref[len(refParam):]
			v, ok := params[name]
			if !ok {
				if keep {
					b.WriteString("{{" + s.ref + "}}")
					continue
				}
				return "", fmt.Errorf("unknown parameter %q", name)
			}
			b.WriteString(v)
		}
	}
	return b.String(), nil
}

func field(item any, path string) (any, error) {
	v := item
	for _, f := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("{{item.%s}}: item %s is not an object", path, show(item))
		}
		if v, ok = m[f]; !ok {
			return nil, fmt.Errorf("{{item.%s}}: item %s has no field %q", path, show(item), f)
		}
	}
	return v, nil
}

// show renders an item value: strings as is, everything else as JSON.
func show(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
