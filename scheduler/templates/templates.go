package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Bounds of stored templates and of an instantiation request.
const (
	// MaxTemplateBytes bounds a pushed template document.
	MaxTemplateBytes = 64 << 10
	// DefaultKeepVersions is how many versions of a template are kept;
	// pushing one more prunes the oldest.
	DefaultKeepVersions = 10
	// DefaultMaxTemplates bounds how many templates (names) are stored.
	DefaultMaxTemplates = 1000
	// MaxParams bounds the parameters of an instantiation request.
	MaxParams = 64
	// MaxParamValueBytes bounds one parameter value.
	MaxParamValueBytes = 4 << 10
	// MaxRunRequestBytes bounds the body of POST /v1/templates/{name}/jobs.
	MaxRunRequestBytes = 64 << 10
)

// Errors of a Store.
var (
	ErrNotFound = errors.New("no such template")
	// ErrTooMany: storing a new template name would exceed the count bound.
	ErrTooMany = errors.New("too many templates")
	// ErrContended: the version could not be allocated after repeated
	// concurrent pushes of the same name.
	ErrContended = errors.New("template pushed concurrently on every attempt")
)

// Version is one stored, immutable version of a template.
type Version struct {
	Name    string    `json:"name"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	// By is the name of the API token that pushed it.
	By       string          `json:"by,omitempty"`
	Template expand.Template `json:"template"`
}

// Summary describes a stored template in a listing.
type Summary struct {
	Name string `json:"name"`
	// Latest is the newest version; Versions the ones kept, oldest first.
	Latest   int       `json:"latest"`
	Versions []int     `json:"versions"`
	Updated  time.Time `json:"updated"`
	// Parameters of the latest version.
	Parameters []expand.Param `json:"parameters,omitempty"`
}

// ValidName reports whether name may name a stored template (the job name
// pattern, [a-z0-9-]{1,63}).
func ValidName(name string) bool { return spec.ValidName(name) }

// Parse validates a pushed template document (YAML or JSON) for the name
// in the URL: at most MaxTemplateBytes, the expand.Template shape with
// every placeholder naming a declared parameter, a name that is empty or
// equal to name, and a spec that instantiates: fully when every parameter
// has a default (or there are none), otherwise with a probe value for
// the required parameters, ignoring only errors in fields a placeholder
// fills. Errors are *fielderr.FieldError naming the field.
func Parse(name string, doc []byte) (*expand.Template, error) {
	if !ValidName(name) {
		return nil, &fielderr.FieldError{Field: "name", Msg: fmt.Sprintf("%q must match [a-z0-9-]{1,63}", name)}
	}
	if len(doc) > MaxTemplateBytes {
		return nil, &fielderr.FieldError{Field: "body", Msg: fmt.Sprintf("template of %d bytes is larger than the %d allowed", len(doc), MaxTemplateBytes)}
	}
	// A document without a name takes the URL's.
	js, err := spec.YAMLToJSON("template", doc)
	if err != nil {
		return nil, err
	}
	var top map[string]any
	if err := json.Unmarshal(js, &top); err != nil || top == nil {
		return nil, &fielderr.FieldError{Msg: "a template is an object with parameters and spec"}
	}
	switch n, ok := top["name"]; {
	case !ok:
		top["name"] = name
	case n != name:
		return nil, &fielderr.FieldError{Field: "name", Msg: fmt.Sprintf("%v differs from the name in the path, %q", n, name)}
	}
	js, _ = json.Marshal(top)
	t, err := expand.ParseTemplate(js)
	if err != nil {
		return nil, err
	}
	if err := checkInstantiates(t); err != nil {
		return nil, err
	}
	return t, nil
}

// probeValue fills required parameters when a template is checked at push.
const probeValue = "1"

func checkInstantiates(t *expand.Template) error {
	args := map[string]string{}
	probed := false
	for _, p := range t.Parameters {
		if p.Default == nil {
			args[p.Name] = probeValue
			probed = true
		}
	}
	_, err := t.Instantiate(args)
	if err == nil {
		return nil
	}
	fe, ok := spec.AsFieldError(err)
	if !ok {
		return err
	}
	if probed && placeholderNear(t.Spec, fe.Field) {
		return nil // the probe value's fault, not the template's
	}
	return &fielderr.FieldError{Field: "spec." + strings.TrimPrefix(fe.Field, "spec."), Msg: fe.Msg}
}

// placeholderNear reports whether the spec value at field (a path like
// tasks[0].resources.cpus), or anything below it, holds a parameter
// placeholder; a path that cannot be followed is judged at the deepest
// value reached.
func placeholderNear(v any, field string) bool {
	for _, p := range splitPath(field) {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[p]
			if !ok {
				return hasPlaceholder(v)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return hasPlaceholder(v)
			}
			v = x[i]
		default:
			return hasPlaceholder(v)
		}
	}
	return hasPlaceholder(v)
}

func splitPath(field string) []string {
	field = strings.ReplaceAll(field, "[", ".")
	field = strings.ReplaceAll(field, "]", "")
	var out []string
	for _, p := range strings.Split(field, ".") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func hasPlaceholder(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, "{{")
	case []any:
		return slices.ContainsFunc(x, hasPlaceholder)
	case map[string]any:
		for _, e := range x {
			if hasPlaceholder(e) {
				return true
			}
		}
	}
	return false
}

// RunRequest is the body of POST /v1/templates/{name}/jobs.
type RunRequest struct {
	// Version to instantiate; 0 (or absent) means the latest.
	Version int               `json:"version,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
}

// ParseRunRequest decodes and bounds an instantiation request: a JSON
// object with only version (≥ 0) and params (at most MaxParams, values at
// most MaxParamValueBytes each). An empty body is the latest version with
// no parameters.
func ParseRunRequest(body []byte) (RunRequest, error) {
	var r RunRequest
	if len(body) > MaxRunRequestBytes {
		return r, &fielderr.FieldError{Field: "body", Msg: fmt.Sprintf("request of %d bytes is larger than the %d allowed", len(body), MaxRunRequestBytes)}
	}
	if strings.TrimSpace(string(body)) == "" {
		return r, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return RunRequest{}, &fielderr.FieldError{Field: "body", Msg: "want {\"version\": N, \"params\": {\"k\": \"v\"}}: " + err.Error()}
	}
	if dec.More() {
		return RunRequest{}, &fielderr.FieldError{Field: "body", Msg: "trailing data after the request object"}
	}
	if r.Version < 0 {
		return RunRequest{}, &fielderr.FieldError{Field: "version", Msg: fmt.Sprintf("%d is not a version (≥ 1, or 0 for the latest)", r.Version)}
	}
	if len(r.Params) > MaxParams {
		return RunRequest{}, &fielderr.FieldError{Field: "params", Msg: fmt.Sprintf("%d parameters; at most %d", len(r.Params), MaxParams)}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Params)) {
		if len(r.Params[k]) > MaxParamValueBytes {
			return RunRequest{}, &fielderr.FieldError{Field: "params." + k, Msg: fmt.Sprintf("value of %d bytes; at most %d", len(r.Params[k]), MaxParamValueBytes)}
		}
	}
	return r, nil
}

// Instantiate makes the job spec of version v with params: parameter
// errors name params.<k>, spec errors their field (as spec.Parse does).
func Instantiate(v *Version, params map[string]string) (*job.Spec, error) {
	sp, err := v.Template.Instantiate(params)
	if fe, ok := spec.AsFieldError(err); ok && strings.HasPrefix(fe.Field, "args.") {
		return nil, &fielderr.FieldError{Field: "params." + strings.TrimPrefix(fe.Field, "args."), Msg: fe.Msg}
	}
	return sp, err
}
