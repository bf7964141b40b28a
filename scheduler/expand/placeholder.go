package expand

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Ref kinds.
const (
	refItem  = "item"
	refIndex = "index"
	refParam = "inputs.parameters."
)

// segment is a literal or a reference in a parsed string.
type segment struct {
	lit string
	ref string // "" for a literal; "item", "item.a.b", "index", "inputs.parameters.x"
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
		default:
			return nil, fmt.Errorf("unknown placeholder {{%s}} (want item, item.<field>, index or inputs.parameters.<name>)", ref)
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

// perInstance reports whether t refers to item or index.
func (t tmpl) perInstance() bool {
	for _, s := range t {
		if s.ref == refIndex || s.ref == refItem || strings.HasPrefix(s.ref, refItem+".") {
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
	var b strings.Builder
	for _, s := range t {
		switch {
		case s.ref == "":
			b.WriteString(s.lit)
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
