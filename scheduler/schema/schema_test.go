package schema

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/compose"
	"github.com/gleaner-project/gleaner/scheduler/cron"
	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/retry"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

func load(t *testing.T) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(JSON, &s); err != nil {
		t.Fatalf("job.schema.json: %v", err)
	}
	return s
}

// resolve follows a local $ref.
func resolve(t *testing.T, root, node map[string]any) map[string]any {
	t.Helper()
	for {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		if !ok {
			t.Fatalf("non-local $ref %q", ref)
		}
		def, ok := root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok {
			t.Fatalf("$ref %q: no such definition", ref)
		}
		node = def
	}
}

var marshaler = reflect.TypeFor[json.Marshaler]()

// check compares a schema node with the Go type it describes, both ways:
// every JSON field of the type is a property, every property a field, and
// objects reject unknown fields.
func check(t *testing.T, root, node map[string]any, typ reflect.Type, where string) {
	t.Helper()
	node = resolve(t, root, node)
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.Implements(marshaler) {
		return // a leaf with its own encoding (retry.Duration)
	}
	switch typ.Kind() {
	case reflect.Struct:
		props, _ := node["properties"].(map[string]any)
		if node["additionalProperties"] != false {
			t.Errorf("%s (%s): additionalProperties must be false", where, typ)
		}
		fields := map[string]reflect.StructField{}
		for f := range typ.Fields() {
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fields[name] = f
		}
		for name, f := range fields {
			p, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s: Go field %s.%s (json %q) missing from the schema", where, typ, f.Name, name)
				continue
			}
			check(t, root, p, f.Type, where+"."+name)
		}
		for name := range props {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s: schema property %q has no field in %s", where, name, typ)
			}
		}
	case reflect.Slice:
		if items, ok := node["items"].(map[string]any); ok {
			check(t, root, items, typ.Elem(), where+"[]")
		}
	case reflect.Map:
		if ap, ok := node["additionalProperties"].(map[string]any); ok {
			check(t, root, ap, typ.Elem(), where+".*")
		}
	}
}

func TestSchemaMatchesGoTypes(t *testing.T) {
	root := load(t)
	if root["$schema"] != "https://json-schema.org/draft/2020-12/schema" || root["$id"] != ID {
		t.Errorf("$schema %v, $id %v", root["$schema"], root["$id"])
	}
	check(t, root, root, reflect.TypeFor[job.Spec](), "job")
	defs := root["$defs"].(map[string]any)
	for name, typ := range map[string]reflect.Type{
		"task":              reflect.TypeFor[job.TaskSpec](),
		"resources":         reflect.TypeFor[job.Resources](),
		"retryPolicy":       reflect.TypeFor[retry.Policy](),
		"backoff":           reflect.TypeFor[retry.Backoff](),
		"failurePolicy":     reflect.TypeFor[retry.FailurePolicy](),
		"failureRule":       reflect.TypeFor[retry.Rule](),
		"schedule":          reflect.TypeFor[cron.Schedule](),
		"loop":              reflect.TypeFor[expand.Loop](),
		"sequence":          reflect.TypeFor[expand.Sequence](),
		"volume":            reflect.TypeFor[compose.Volume](),
		"template":          reflect.TypeFor[expand.Template](),
		"templateParameter": reflect.TypeFor[expand.Param](),
	} {
		d, ok := defs[name].(map[string]any)
		if !ok {
			t.Errorf("$defs/%s missing", name)
			continue
		}
		check(t, root, d, typ, "$defs/"+name)
	}
}

func enum(t *testing.T, node any, path ...string) []string {
	t.Helper()
	for _, p := range path {
		node = node.(map[string]any)[p]
	}
	var out []string
	for _, v := range node.(map[string]any)["enum"].([]any) {
		out = append(out, v.(string))
	}
	sort.Strings(out)
	return out
}

func sorted[S ~string](vs ...S) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	sort.Strings(out)
	return out
}

// Enumerations list exactly the Go constants.
func TestEnumsMatchGoConstants(t *testing.T) {
	defs := load(t)["$defs"]
	for _, c := range []struct {
		got, want []string
	}{
		{enum(t, defs, "retryPolicy", "properties", "restart"), sorted(retry.Never, retry.OnFailure, retry.Always)},
		{enum(t, defs, "failureRule", "properties", "action"), sorted(retry.Count, retry.Retry, retry.Ignore, retry.FailJob)},
		{enum(t, defs, "schedule", "properties", "concurrency"), sorted(cron.Allow, cron.Forbid, cron.Replace)},
		{enum(t, defs, "cleanup"), sorted(compose.RemoveFinished, compose.RemoveFailed, compose.RemoveAll, compose.RemoveNone)},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("enum %v, Go constants %v", c.got, c.want)
		}
	}
}

// The schema's bounds are the parser's: resources between what Mesos
// offers at least and what an agent could hold, expressions at most
// spec.MaxExprBytes.
func TestBoundsMatchGoConstants(t *testing.T) {
	doc := load(t)
	defs := doc["$defs"].(map[string]any)
	top := doc["properties"].(map[string]any)
	res := defs["resources"].(map[string]any)["properties"].(map[string]any)
	task := defs["task"].(map[string]any)["properties"].(map[string]any)
	dependsString := task["depends"].(map[string]any)["oneOf"].([]any)[1].(map[string]any)
	artifactsOf := func(block string) map[string]any {
		return task[block].(map[string]any)["properties"].(map[string]any)["artifacts"].(map[string]any)
	}
	for _, c := range []struct {
		where string
		node  any
		key   string
		want  float64
	}{
		{"resources.cpus", res["cpus"], "minimum", spec.MinCPUs},
		{"resources.cpus", res["cpus"], "maximum", spec.MaxCPUs},
		{"resources.mem", res["mem"], "minimum", spec.MinMem},
		{"resources.mem", res["mem"], "maximum", spec.MaxMem},
		{"resources.disk", res["disk"], "maximum", spec.MaxDisk},
		{"resources.gpus", res["gpus"], "maximum", spec.MaxGPUs},
		{"task.depends (string)", dependsString, "maxLength", spec.MaxExprBytes},
		{"task.dependsExpr", task["dependsExpr"], "maxLength", spec.MaxExprBytes},
		{"task.when", task["when"], "maxLength", spec.MaxExprBytes},
		{"labels", top["labels"], "maxProperties", spec.MaxJobLabels},
		{"labels value", top["labels"].(map[string]any)["additionalProperties"], "maxLength", spec.MaxLabelValueLen},
		{"outputs.artifacts", artifactsOf("outputs"), "maxItems", spec.MaxArtifacts},
		{"inputs.artifacts", artifactsOf("inputs"), "maxItems", spec.MaxArtifacts},
		{"outputs.artifacts.maxSize", artifactsOf("outputs")["items"].(map[string]any)["properties"].(map[string]any)["maxSize"], "maximum", float64(spec.MaxArtifactMaxSize)},
		{"artifactPath", defs["artifactPath"], "maxLength", spec.MaxArtifactPath},
	} {
		if got, _ := c.node.(map[string]any)[c.key].(float64); got != c.want {
			t.Errorf("%s %s: schema %v, Go %v", c.where, c.key, got, c.want)
		}
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/schema+json" || got["$id"] != ID {
		t.Fatalf("GET: %d %v %v", resp.StatusCode, resp.Header, got["$id"])
	}
	req, _ := http.NewRequest("GET", srv.URL+Path, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: %d", resp.StatusCode)
	}
	resp, err = http.Post(srv.URL+Path, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}
