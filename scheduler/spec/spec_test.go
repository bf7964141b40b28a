package spec

import (
	"strings"
	"testing"
)

const good = `
name: etl-nightly
tasks:
  - name: extract
    command: "echo part $GLEANER_INDEX"
    resources: {cpus: 0.1, mem: 64, disk: 0}
    instances: 10
    retries: 2
  - name: load
    args: ["/bin/echo", "load"]
    depends: [extract]
`

func TestParseGood(t *testing.T) {
	s, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "etl-nightly" || len(s.Tasks) != 2 {
		t.Fatalf("spec = %+v", s)
	}
	ex, ld := s.Tasks[0], s.Tasks[1]
	if ex.Instances != 10 || ex.Retries != 2 || ex.Resources.Mem != 64 || ex.Resources.CPUs != 0.1 {
		t.Fatalf("extract = %+v", ex)
	}
	if ld.Instances != 1 || ld.Retries != 3 || ld.Resources.CPUs != DefaultCPUs || ld.Depends[0] != "extract" || ld.Args[0] != "/bin/echo" {
		t.Fatalf("load defaults = %+v", ld)
	}
}

func TestParseJSON(t *testing.T) {
	s, err := Parse([]byte(`{"name":"a","tasks":[{"name":"b","command":"true"}]}`))
	if err != nil || s.Tasks[0].Command != "true" {
		t.Fatalf("Parse JSON = %+v, %v", s, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, doc, field, msg string
	}{
		{"unknown top field", "name: a\nfoo: 1\ntasks: [{name: b, command: x}]", "foo", "unknown field"},
		{"unknown task field", "name: a\ntasks: [{name: b, command: x, cmd: y}]", "tasks[0].cmd", "unknown field"},
		{"unknown resource", "name: a\ntasks: [{name: b, command: x, resources: {cpu: 1}}]", "tasks[0].resources.cpu", "unknown field"},
		{"bad job name", "name: ETL\ntasks: [{name: b, command: x}]", "name", "must match"},
		{"long job name", "name: " + strings.Repeat("a", 64) + "\ntasks: [{name: b, command: x}]", "name", "must match"},
		{"missing name", "tasks: [{name: b, command: x}]", "name", "required"},
		{"bad task name", "name: a\ntasks: [{name: b.c, command: x}]", "tasks[0].name", "must match"},
		{"dup task", "name: a\ntasks: [{name: b, command: x}, {name: b, command: z}]", "tasks[1].name", "duplicates"},
		{"no tasks", "name: a\ntasks: []", "tasks", "at least one"},
		{"tasks not list", "name: a\ntasks: 3", "tasks", "must be a list"},
		{"no command", "name: a\ntasks: [{name: b}]", "tasks[0].command", "required"},
		{"both command and args", "name: a\ntasks: [{name: b, command: x, args: [z]}]", "tasks[0].args", "either"},
		{"negative cpus", "name: a\ntasks: [{name: b, command: x, resources: {cpus: -1, mem: 1}}]", "tasks[0].resources.cpus", ">= 0"},
		{"negative mem", "name: a\ntasks: [{name: b, command: x, resources: {cpus: 1, mem: -5}}]", "tasks[0].resources.mem", ">= 0"},
		{"string cpus", "name: a\ntasks: [{name: b, command: x, resources: {cpus: lots}}]", "tasks[0].resources.cpus", "must be a number"},
		{"zero resources", "name: a\ntasks: [{name: b, command: x, resources: {cpus: 0, mem: 0, disk: 1}}]", "tasks[0].resources.cpus", "at least 0.01"},
		{"fractional gpus", "name: a\ntasks: [{name: b, command: x, resources: {cpus: 1, gpus: 0.5}}]", "tasks[0].resources.gpus", "whole"},
		{"zero instances", "name: a\ntasks: [{name: b, command: x, instances: 0}]", "tasks[0].instances", "between"},
		{"fractional instances", "name: a\ntasks: [{name: b, command: x, instances: 1.5}]", "tasks[0].instances", "whole"},
		{"negative retries", "name: a\ntasks: [{name: b, command: x, retries: -1}]", "tasks[0].retries", ">= 0"},
		{"unknown dep", "name: a\ntasks: [{name: b, command: x, depends: [zz]}]", "tasks[0].depends[0]", "unknown task"},
		{"self dep", "name: a\ntasks: [{name: b, command: x, depends: [b]}]", "tasks[0].depends[0]", "itself"},
		{"dup dep", "name: a\ntasks: [{name: b, command: x}, {name: c, command: x, depends: [b, b]}]", "tasks[1].depends[1]", "duplicate"},
		{"cycle", "name: a\ntasks: [{name: b, command: x, depends: [d]}, {name: c, command: x, depends: [b]}, {name: d, command: x, depends: [c]}]", "tasks[0].depends", "cycle: b -> d -> c -> b"},
		{"bad yaml", "name: [", "", "parse spec"},
		{"not an object", "- a\n- b", "", "must be an object"},
		{"depends not list", "name: a\ntasks: [{name: b, command: x, depends: 3}]", "tasks[0].depends", "list of strings"},
		{"depends one unknown name", "name: a\ntasks: [{name: b, command: x, depends: c}]", "tasks[0].depends[0]", "unknown task"},
		{"retries object unknown", "name: a\ntasks: [{name: b, command: x, retries: {limit: 2, tries: 1}}]", "tasks[0].retries.tries", "unknown field"},
		{"backoff factor", "name: a\ntasks: [{name: b, command: x, retries: {backoff: {factor: 0.5}}}]", "tasks[0].retries.backoff.factor", ">= 1"},
		{"backoff twice", "name: a\ntasks: [{name: b, command: x, backoff: {delay: 1s}, retries: {backoff: {delay: 2s}}}]", "tasks[0].backoff", "twice"},
		{"rule exit code", "name: a\ntasks: [{name: b, command: x, onFailure: [{action: retry, exitCodes: [1.5]}]}]", "tasks[0].onFailure[0].exitCodes[0]", "whole number"},
		{"restart", "name: a\ntasks: [{name: b, command: x, restart: Sometimes}]", "tasks[0].restart", "Never, OnFailure or Always"},
		{"timeout", "name: a\ntasks: [{name: b, command: x, timeout: soon}]", "tasks[0].timeout", "duration"},
		{"completions", "name: a\ntasks: [{name: b, command: x, instances: 2, completions: 3}]", "tasks[0].completions", "between 0 and instances"},
		{"parallelism", "name: a\ntasks: [{name: b, command: x, parallelism: -1}]", "tasks[0].parallelism", ">= 0"},
		{"cleanup", "name: a\ntasks: [{name: b, command: x, cleanup: sometimes}]", "tasks[0].cleanup", "remove-finished"},
		{"volume relative", "name: a\ntasks: [{name: b, command: x, volumes: [{host: nas, container: /data}]}]", "tasks[0].volumes[0].host", "absolute"},
		{"bundle uri", "name: a\ntasks: [{name: b, command: x, bundle: {digest: \"sha256:00\"}}]", "tasks[0].bundle.uri", "required"},
		{"deadline", "name: a\ndeadline: -1\ntasks: [{name: b, command: x}]", "deadline", ">= 0"},
		{"depends list and expr", "name: a\ntasks: [{name: b, command: x}, {name: c, command: x, depends: \"b && b.succeeded\", dependsExpr: x}]", "tasks[1].dependsExpr", "not both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			fe, ok := AsFieldError(err)
			if !ok {
				t.Fatalf("error %v is not a fielderr.FieldError", err)
			}
			if fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("got field %q msg %q, want field %q msg containing %q", fe.Field, fe.Msg, c.field, c.msg)
			}
		})
	}
}
