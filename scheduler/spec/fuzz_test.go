package spec_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/gleaner-project/gleaner/scheduler/cron" // registers the schedule check
	_ "github.com/gleaner-project/gleaner/scheduler/dag"  // registers the depends and when checks
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// FuzzParse feeds job specs (YAML and JSON) through the whole submit
// parser, the registered checks included. It must never panic or run away;
// every refusal is a *fielderr.FieldError; every accepted spec validates again
// and, written as JSON as it is stored, parses again.
func FuzzParse(f *testing.F) {
	examples, _ := filepath.Glob("../../examples/*.yaml")
	for _, e := range examples {
		if b, err := os.ReadFile(e); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"name": "j", "tasks": [{"name": "a", "command": "x", "resources": {"cpus": 0.5, "mem": 64}}]}`))
	// The attacks of issue 10.
	f.Add([]byte(`{"name": "j", "tasks": [{"name": "a", "command": "x"}, {"name": "b", "command": "x", "depends": "` + strings.Repeat("!", 1_000_000) + `a"}]}`))
	f.Add([]byte(`{"name": "j", "tasks": [{"name": "a", "command": "x"}, {"name": "b", "command": "x", "depends": "` + strings.Repeat("(", 200_000) + "a" + strings.Repeat(")", 200_000) + `"}]}`))
	f.Add([]byte("params:\n  big: &big " + strings.Repeat("a", 1<<20) + "\nname: j\ntasks:\n  - name: a\n    command: x\n    env: {V0: *big, V1: *big, V2: *big, V3: *big, V4: *big, V5: *big, V6: *big, V7: *big, V8: *big, V9: *big}\n"))
	f.Add([]byte("name: j\ntasks: [{name: a, command: x, resources: {cpus: 1e308}}]"))
	f.Add([]byte("name: j\ntasks: [{name: a, command: x, resources: {cpus: 1e-7, mem: 0}}]"))
	f.Add([]byte("name: j\ntasks: [{name: a, command: x, resources: {cpus: .nan, mem: .inf}}]"))
	f.Add([]byte("name: j\nschedule: {cron: '@every 1ns'}\ntasks: [{name: a, command: x}]"))
	f.Add([]byte("name: j\nparams: {shards: many}\ntasks: [{name: a, command: x, when: 'int(params.shards) > 4'}]"))
	f.Add([]byte("a: " + strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000)))
	f.Add([]byte("a: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := spec.Parse(data)
		if err != nil {
			if _, ok := spec.AsFieldError(err); !ok {
				t.Fatalf("refusal is not a *fielderr.FieldError: %T %v", err, err)
			}
			return
		}
		if err := spec.Validate(s); err != nil {
			t.Fatalf("accepted spec fails Validate: %v", err)
		}
		stored, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("accepted spec does not encode: %v", err)
		}
		if _, err := spec.Parse(stored); err != nil {
			t.Fatalf("accepted spec, stored as %s, does not parse again: %v", stored, err)
		}
	})
}
