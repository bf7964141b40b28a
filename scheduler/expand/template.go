package expand

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Param is a template parameter.
type Param struct {
	Name string `json:"name"`
	// Default, when set, makes the parameter optional.
	Default     *string `json:"default,omitempty"`
	Description string  `json:"description,omitempty"`
}

// Template is a job template: a Gleaner spec whose strings may hold
// {{inputs.parameters.x}}, instantiated with arguments by name.
//
//	name: nightly-etl                  # the template's name
//	parameters:
//	  - {name: date}
//	  - {name: shards, default: "4"}
//	spec:
//	  name: "etl-{{inputs.parameters.date}}"
//	  tasks:
//	    - name: extract
//	      command: "extract --date {{inputs.parameters.date}}"
//	      instances: "{{inputs.parameters.shards}}"
//
// A value that is exactly one placeholder takes the type of the job.Spec
// field it lands in (instances above becomes the number 4). {{item}} and
// {{index}} are left for loop expansion.
type Template struct {
	Name       string  `json:"name"`
	Parameters []Param `json:"parameters,omitempty"`
	// Spec is the spec document with placeholders, as decoded from JSON.
	Spec any `json:"spec"`
}

// ParseTemplate reads a template (YAML or JSON), checking its name, its
// parameters and that every placeholder refers to a declared parameter.
func ParseTemplate(data []byte) (*Template, error) {
	js, err := spec.YAMLToJSON("template", data)
	if err != nil {
		return nil, err
	}
	var t Template
	dec := json.NewDecoder(strings.NewReader(string(js)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, ferr("", "parse template: %v", err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// Validate checks the template's name, parameters and placeholders.
func (t *Template) Validate() error {
	if !spec.ValidName(t.Name) {
		return ferr("name", "%q must match [a-z0-9-]{1,63}", t.Name)
	}
	declared := map[string]bool{}
	for i, p := range t.Parameters {
		if !paramNameRE.MatchString(p.Name) {
			return ferr(fmt.Sprintf("parameters[%d].name", i), "%q must match %s", p.Name, paramNameRE)
		}
		if declared[p.Name] {
			return ferr(fmt.Sprintf("parameters[%d].name", i), "duplicate parameter %q", p.Name)
		}
		declared[p.Name] = true
	}
	if _, ok := t.Spec.(map[string]any); !ok {
		return ferr("spec", "required: a job spec")
	}
	return walk("spec", t.Spec, func(path, s string) error {
		tp, err := parse(s)
		if err != nil {
			return ferr(path, "%v", err)
		}
		for _, p := range tp.params() {
			if !declared[p] {
				return ferr(path, "unknown parameter %q", p)
			}
		}
		return nil
	})
}

// walk calls f on every string in v with its field path.
func walk(path string, v any, f func(path, s string) error) error {
	switch x := v.(type) {
	case string:
		return f(path, x)
	case []any:
		for i, e := range x {
			if err := walk(fmt.Sprintf("%s[%d]", path, i), e, f); err != nil {
				return err
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := walk(path+"."+k, x[k], f); err != nil {
				return err
			}
		}
	}
	return nil
}

// Instantiate substitutes args into the template and parses the result as
// a Gleaner spec (spec.Parse: defaults and validation). Missing required
// or unknown arguments are *fielderr.FieldError on args.<name>; errors in the
// resulting spec name its field (tasks[0].instances).
func (t *Template) Instantiate(args map[string]string) (*job.Spec, error) {
	values := map[string]string{}
	for _, p := range t.Parameters {
		if v, ok := args[p.Name]; ok {
			values[p.Name] = v
		} else if p.Default != nil {
			values[p.Name] = *p.Default
		}
	}
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if !slices.ContainsFunc(t.Parameters, func(p Param) bool { return p.Name == k }) {
			return nil, ferr("args."+k, "unknown parameter of template %s", t.Name)
		}
	}
	for _, p := range t.Parameters {
		if _, ok := values[p.Name]; !ok {
			return nil, ferr("args."+p.Name, "required by template %s", t.Name)
		}
	}
	budget := spec.MaxDocumentBytes
	doc, err := substitute("spec", t.Spec, values, reflect.TypeOf(job.Spec{}), &budget)
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("instantiate template %s: %w", t.Name, err)
	}
	return spec.Parse(js)
}

// substitute copies v (at path) with parameters replaced; typ is the Go
// type of the job.Spec field v lands in (nil when unknown), used to type a
// value that is a single placeholder. budget is what the strings built
// may still take: a parameter used many times cannot build more than a
// spec may hold.
func substitute(path string, v any, values map[string]string, typ reflect.Type, budget *int) (any, error) {
	for typ != nil && typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch x := v.(type) {
	case string:
		tp, _ := parse(x) // validated by Validate
		filled := tp.withParams(values)
		if *budget -= filled.size(); *budget < 0 {
			return nil, ferr(path, "instantiated template larger than %d bytes", spec.MaxDocumentBytes)
		}
		out := filled.String()
		if len(tp) == 1 && len(tp.params()) == 1 && typ != nil {
			switch typ.Kind() {
			case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32:
				if f, err := strconv.ParseFloat(strings.TrimSpace(out), 64); err == nil {
					return f, nil
				}
			case reflect.Bool:
				if b, err := strconv.ParseBool(strings.TrimSpace(out)); err == nil {
					return b, nil
				}
			}
		}
		return out, nil
	case []any:
		var elem reflect.Type
		if typ != nil && typ.Kind() == reflect.Slice {
			elem = typ.Elem()
		}
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = substitute(fmt.Sprintf("%s[%d]", path, i), e, values, elem, budget); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var ft reflect.Type
			if typ != nil {
				ft = fieldType(typ, k)
			}
			var err error
			if out[k], err = substitute(path+"."+k, e, values, ft, budget); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

// fieldType is the type of the field of struct (or element of map) typ
// that JSON key k decodes into.
func fieldType(typ reflect.Type, k string) reflect.Type {
	switch typ.Kind() {
	case reflect.Map:
		return typ.Elem()
	case reflect.Struct:
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if name == k {
				return f.Type
			}
		}
	}
	return nil
}

// Registry holds templates by name; safe for concurrent use.
type Registry struct {
	mu sync.RWMutex
	m  map[string]*Template
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]*Template{}} }

// Add validates t and stores it under its name, replacing an older one.
func (r *Registry) Add(t *Template) error {
	if err := t.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[t.Name] = t
	return nil
}

// Get returns the template called name.
func (r *Registry) Get(name string) (*Template, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.m[name]
	return t, ok
}

// Names lists the templates, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ErrNoTemplate is wrapped when Instantiate is given an unknown name.
var ErrNoTemplate = errors.New("no such template")

// Instantiate instantiates the template called name with args.
func (r *Registry) Instantiate(name string, args map[string]string) (*job.Spec, error) {
	t, ok := r.Get(name)
	if !ok {
		return nil, fmt.Errorf("instantiate %q: %w", name, ErrNoTemplate)
	}
	return t.Instantiate(args)
}
