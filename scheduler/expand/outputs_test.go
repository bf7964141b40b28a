package expand

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/gleaner-project/gleaner/scheduler/dag" // its submit checks
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

type fakeOutputs map[string]string // "task/index/name" → value

func (f fakeOutputs) Param(task string, index int, name string) (string, error) {
	v, ok := f[fmt.Sprintf("%s/%d/%s", task, index, name)]
	if !ok {
		return "", fmt.Errorf("task %s left no output %q", task, name)
	}
	return v, nil
}

func TestInstanceWithOutputs(t *testing.T) {
	s, err := spec.Parse([]byte(`
name: j
tasks:
- {name: split, command: "true", instances: 2}
- name: use
  depends: [split]
  withItems: [x, z]
  command: "run {{item}} --count {{tasks.split.outputs.parameters.count}}"
  args: []
  env: {FIRST: "{{ tasks.split.instances.0.outputs.parameters.count }}", PLAIN: "p"}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := FromSpec(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	outs := fakeOutputs{"split/-1/count": `["3","4"]`, "split/0/count": "3"}
	in, err := e.InstanceWith(1, outs)
	if err != nil {
		t.Fatal(err)
	}
	if in.Command != `run z --count ["3","4"]` || in.Env["FIRST"] != "3" || in.Env["PLAIN"] != "p" {
		t.Fatalf("instance 1: %+v", in)
	}
	// A value holding {{ is never read as a placeholder.
	outs["split/-1/count"] = "{{index}}"
	if in, _ := e.InstanceWith(0, outs); in.Command != "run x --count {{index}}" {
		t.Fatalf("command %q", in.Command)
	}
	delete(outs, "split/0/count")
	if _, err := e.InstanceWith(0, outs); err == nil || !strings.Contains(err.Error(), `{{tasks.split.instances.0.outputs.parameters.count}}: task split left no output "count"`) {
		t.Fatalf("missing output: %v", err)
	}
}

func TestBadOutputPlaceholder(t *testing.T) {
	_, err := spec.Parse([]byte(`
name: j
tasks:
- {name: a, command: "true"}
- {name: b, depends: [a], command: "echo {{tasks.a.outputs.count}}"}
`))
	fe, ok := spec.AsFieldError(err)
	if !ok || fe.Field != "tasks[1].command" || !strings.Contains(fe.Msg, "bad output reference") {
		t.Fatalf("err %v", err)
	}
}

// The output examples validate with every submit check (the DAG's
// included) and render.
func TestOutputExamplesValidate(t *testing.T) {
	for _, f := range []string{"outputs.yaml", "coinflip.yaml", "fanout.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../examples", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.Parse(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

type anyOutputs string

func (v anyOutputs) Param(string, int, string) (string, error) { return string(v), nil }

// FuzzOutputPlaceholders: a command with output placeholders over an
// upstream task is refused at submit with a *fielderr.FieldError, or it
// expands and renders once every output is known.
func FuzzOutputPlaceholders(f *testing.F) {
	f.Add("echo {{tasks.split.outputs.parameters.count}}", "3")
	f.Add("{{ tasks.split.instances.7.outputs.parameters.x_y-z }}{{index}}", "{{index}}")
	f.Add("{{tasks.split.outputs.parameters.}}", "")
	f.Add("{{tasks.use.outputs.parameters.a}}", "x")
	f.Add("{{tasks.split.instances.99999999.outputs.parameters.a}}", "x")
	f.Fuzz(func(t *testing.T, command, value string) {
		if len(command) > 4<<10 || strings.ContainsAny(command, "\x00'\n\r") {
			return
		}
		doc := "name: j\ntasks:\n- {name: split, command: x, instances: 100000000}\n- {name: use, depends: [split], command: '" + command + "'}\n"
		s, err := spec.Parse([]byte(doc))
		if err != nil {
			if _, ok := spec.AsFieldError(err); !ok {
				t.Fatalf("refusal %T %v is not a *fielderr.FieldError", err, err)
			}
			return
		}
		e, err := FromSpec(s, 1)
		if err != nil {
			t.Fatalf("accepted at submit, refused now: %v", err)
		}
		if e == nil {
			return
		}
		if _, err := e.InstanceWith(0, anyOutputs(value)); err != nil {
			t.Fatalf("render %q: %v", s.Tasks[1].Command, err)
		}
	})
}
