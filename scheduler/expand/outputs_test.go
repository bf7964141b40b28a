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
	for _, f := range []string{"outputs.yaml", "coinflip.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../examples", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.Parse(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
