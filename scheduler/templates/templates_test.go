package templates

import (
	"os"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, path, doc string
		field           string // "" with ok
		ok              bool
	}{
		{"named as the path", "shards", "name: shards\nparameters: [{name: count, default: \"2\"}]\nspec: {name: s, tasks: [{name: t, command: echo, instances: \"{{inputs.parameters.count}}\"}]}", "", true},
		{"name taken from the path", "shards", "spec: {name: s, tasks: [{name: t, command: echo}]}", "", true},
		{"required parameter in a typed field is probed", "p", "parameters: [{name: count}]\nspec: {name: s, tasks: [{name: t, command: echo, instances: \"{{inputs.parameters.count}}\"}]}", "", true},
		{"required parameter in the job name is probed", "p", "parameters: [{name: d}]\nspec: {name: \"etl-{{inputs.parameters.d}}\", tasks: [{name: t, command: echo}]}", "", true},
		{"bad path name", "Bad_Name", "spec: {name: s, tasks: [{name: t, command: echo}]}", "name", false},
		{"name differs from the path", "a", "name: b\nspec: {name: s, tasks: [{name: t, command: echo}]}", "name", false},
		{"undeclared parameter", "a", "spec: {name: s, tasks: [{name: t, command: \"echo {{inputs.parameters.x}}\"}]}", "spec.tasks[0].command", false},
		{"no spec", "a", "parameters: []", "spec", false},
		{"unknown top-level field", "a", "spec: {name: s, tasks: [{name: t, command: echo}]}\nextra: 1", "", false},
		{"spec invalid without placeholders", "a", "spec: {name: s, tasks: [{name: t, command: echo, resources: {cpus: -1}}]}", "spec.tasks[0].resources.cpus", false},
		{"spec invalid beside a probed field", "a", "parameters: [{name: count}]\nspec: {name: s, tasks: [{name: t, command: \"echo {{inputs.parameters.count}}\", instances: -3}]}", "spec.tasks[0].instances", false},
		{"default that breaks the spec", "a", "parameters: [{name: count, default: \"-5\"}]\nspec: {name: s, tasks: [{name: t, command: echo, instances: \"{{inputs.parameters.count}}\"}]}", "spec.tasks[0].instances", false},
		{"not an object", "a", "[1, 2]", "", false},
		{"too large", "a", "spec: {name: s, tasks: [{name: t, command: \"" + strings.Repeat("x", MaxTemplateBytes) + "\"}]}", "body", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tpl, err := Parse(c.path, []byte(c.doc))
			if c.ok {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if tpl.Name != c.path {
					t.Fatalf("name %q, want %q", tpl.Name, c.path)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			fe, ok := spec.AsFieldError(err)
			if !ok {
				t.Fatalf("error %v is not a *fielderr.FieldError", err)
			}
			if c.field != "" && fe.Field != c.field {
				t.Fatalf("field %q (%v), want %q", fe.Field, err, c.field)
			}
		})
	}
}

func TestParseRunRequest(t *testing.T) {
	for _, c := range []struct {
		name, body string
		field      string
		want       RunRequest
	}{
		{"empty body", "", "", RunRequest{}},
		{"version and params", `{"version": 3, "params": {"k": "v"}}`, "", RunRequest{Version: 3, Params: map[string]string{"k": "v"}}},
		{"negative version", `{"version": -1}`, "version", RunRequest{}},
		{"unknown field", `{"version": 1, "parms": {}}`, "body", RunRequest{}},
		{"non-string value", `{"params": {"k": 1}}`, "body", RunRequest{}},
		{"trailing data", `{} {}`, "body", RunRequest{}},
		{"value too long", `{"params": {"k": "` + strings.Repeat("v", MaxParamValueBytes+1) + `"}}`, "params.k", RunRequest{}},
		{"too many params", `{"params": {` + manyParams(MaxParams+1) + `}}`, "params", RunRequest{}},
		{"body too large", `{"params": {"k": "` + strings.Repeat("v", MaxRunRequestBytes) + `"}}`, "body", RunRequest{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseRunRequest([]byte(c.body))
			if c.field == "" {
				if err != nil || got.Version != c.want.Version || len(got.Params) != len(c.want.Params) || got.Params["k"] != c.want.Params["k"] {
					t.Fatalf("= %+v, %v; want %+v", got, err, c.want)
				}
				return
			}
			fe, ok := spec.AsFieldError(err)
			if !ok || fe.Field != c.field {
				t.Fatalf("error %v, want a field error on %q", err, c.field)
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"p` + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `": "v"`)
	}
	return b.String()
}

func TestInstantiateNamesParams(t *testing.T) {
	tpl, err := Parse("etl", []byte("parameters: [{name: date}]\nspec: {name: \"etl-{{inputs.parameters.date}}\", tasks: [{name: t, command: echo}]}"))
	if err != nil {
		t.Fatal(err)
	}
	v := &Version{Name: "etl", Version: 1, Template: *tpl}
	if _, err := Instantiate(v, nil); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("missing parameter: %v", err)
	} else if fe, _ := spec.AsFieldError(err); fe.Field != "params.date" {
		t.Fatalf("missing parameter names %q, want params.date", fe.Field)
	}
	if _, err := Instantiate(v, map[string]string{"date": "1", "other": "x"}); err == nil {
		t.Fatal("an unknown parameter was accepted")
	} else if fe, _ := spec.AsFieldError(err); fe.Field != "params.other" {
		t.Fatalf("unknown parameter names %q, want params.other", fe.Field)
	}
	if _, err := Instantiate(v, map[string]string{"date": "NOT A NAME"}); err == nil {
		t.Fatal("a value making the job name invalid was accepted")
	} else if fe, _ := spec.AsFieldError(err); fe.Field != "name" {
		t.Fatalf("invalid job name names %q, want name", fe.Field)
	}
	sp, err := Instantiate(v, map[string]string{"date": "20261205"})
	if err != nil || sp.Name != "etl-20261205" {
		t.Fatalf("= %+v, %v", sp, err)
	}
}

// The stored-template example is accepted as pushed.
func TestStoredExampleParses(t *testing.T) {
	doc, err := os.ReadFile("../../examples/templates-stored/greet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := Parse("greet", doc)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := Instantiate(&Version{Name: "greet", Version: 1, Template: *tpl}, map[string]string{"who": "world"})
	if err != nil || sp.Name != "greet-world" || sp.Tasks[0].Instances != 2 {
		t.Fatalf("instantiated %+v, %v", sp, err)
	}
}
