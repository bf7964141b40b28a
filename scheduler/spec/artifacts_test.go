package spec

import (
	"strings"
	"testing"
)

const artifactsGood = `
name: pass
tasks:
  - name: produce
    command: "echo hi > out.txt"
    outputs:
      artifacts:
        - {name: greeting, path: out.txt, maxSize: 1048576}
        - {name: dir, path: results/}
  - name: consume
    command: "cat in/greeting.txt"
    depends: [produce]
    inputs:
      artifacts:
        - {name: greeting, from: tasks.produce.outputs.artifacts.greeting, path: in/greeting.txt}
  - name: later
    command: "ls in"
    dependsExpr: "consume"
    instances: 3
    inputs:
      artifacts:
        - {name: d, from: tasks.produce.outputs.artifacts.dir, path: in}
`

func TestParseArtifacts(t *testing.T) {
	s, err := Parse([]byte(artifactsGood))
	if err != nil {
		t.Fatal(err)
	}
	out := s.Tasks[0].Outputs
	if out == nil || len(out.Artifacts) != 2 || out.Artifacts[0].Name != "greeting" || out.Artifacts[0].Path != "out.txt" || out.Artifacts[0].MaxSize != 1<<20 {
		t.Fatalf("outputs = %+v", out)
	}
	in := s.Tasks[1].Inputs
	if in == nil || len(in.Artifacts) != 1 || in.Artifacts[0].From != "tasks.produce.outputs.artifacts.greeting" || in.Artifacts[0].Path != "in/greeting.txt" {
		t.Fatalf("inputs = %+v", in)
	}
	// Transitively upstream through dependsExpr, one producer instance for three consumers.
	if in := s.Tasks[2].Inputs; in == nil || in.Artifacts[0].Name != "d" {
		t.Fatalf("later inputs = %+v", in)
	}
}

func TestArtifactErrors(t *testing.T) {
	const head = "name: a\ntasks:\n  - name: p\n    command: x\n    instances: 2\n    outputs: {artifacts: [{name: o, path: out}]}\n"
	const other = "  - name: q\n    command: x\n"
	cases := []struct {
		name, doc, field, msg string
	}{
		{"unknown outputs key", "name: a\ntasks: [{name: b, command: x, outputs: {artifact: []}}]", "tasks[0].outputs.artifact", "did you mean"},
		{"unknown artifact key", "name: a\ntasks: [{name: b, command: x, outputs: {artifacts: [{name: o, path: p, size: 1}]}}]", "tasks[0].outputs.artifacts[0].size", "unknown field"},
		{"output without path", "name: a\ntasks: [{name: b, command: x, outputs: {artifacts: [{name: o}]}}]", "tasks[0].outputs.artifacts[0].path", "required"},
		{"bad output name", "name: a\ntasks: [{name: b, command: x, outputs: {artifacts: [{name: 'a b', path: p}]}}]", "tasks[0].outputs.artifacts[0].name", "must match"},
		{"dup output name", "name: a\ntasks: [{name: b, command: x, outputs: {artifacts: [{name: o, path: p}, {name: o, path: q}]}}]", "tasks[0].outputs.artifacts[1].name", "duplicates"},
		{"absolute path", "name: a\ntasks: [{name: b, command: x, outputs: {artifacts: [{name: o, path: /etc/passwd}]}}]", "tasks[0].outputs.artifacts[0].path", "relative to the sandbox"},
		{"escaping path", "name: a\ntasks: [{name: b, command: x, outputs: {artifacts: [{name: o, path: a/../../x}]}}]", "tasks[0].outputs.artifacts[0].path", "escapes the sandbox"},
		{"sandbox itself", "name: a\ntasks: [{name: b, command: x, outputs: {artifacts: [{name: o, path: ./}]}}]", "tasks[0].outputs.artifacts[0].path", "sandbox itself"},
		{"negative size", "name: a\ntasks: [{name: b, command: x, outputs: {artifacts: [{name: o, path: p, maxSize: -1}]}}]", "tasks[0].outputs.artifacts[0].maxSize", "between 1 and"},
		{"huge size", "name: a\ntasks: [{name: b, command: x, outputs: {artifacts: [{name: o, path: p, maxSize: 1e12}]}}]", "tasks[0].outputs.artifacts[0].maxSize", "between 1 and"},
		{"too many", "name: a\ntasks: [{name: b, command: x, outputs: {artifacts: [" + strings.Repeat("{name: o, path: p},", MaxArtifacts+1) + "]}}]", "tasks[0].outputs.artifacts", "at most 32"},
		{"bad from", head + other + "    depends: [p]\n    instances: 2\n    inputs: {artifacts: [{name: i, from: p.o, path: in}]}\n", "tasks[1].inputs.artifacts[0].from", "tasks.<task>.outputs.artifacts.<name>"},
		{"unknown task", head + other + "    depends: [p]\n    instances: 2\n    inputs: {artifacts: [{name: i, from: tasks.z.outputs.artifacts.o, path: in}]}\n", "tasks[1].inputs.artifacts[0].from", `unknown task "z"`},
		{"unknown artifact", head + other + "    depends: [p]\n    instances: 2\n    inputs: {artifacts: [{name: i, from: tasks.p.outputs.artifacts.nope, path: in}]}\n", "tasks[1].inputs.artifacts[0].from", `no output artifact "nope"`},
		{"not upstream", head + other + "    instances: 2\n    inputs: {artifacts: [{name: i, from: tasks.p.outputs.artifacts.o, path: in}]}\n", "tasks[1].inputs.artifacts[0].from", "not upstream"},
		{"own output", head + "    inputs: {artifacts: [{name: i, from: tasks.p.outputs.artifacts.o, path: in}]}\n", "tasks[0].inputs.artifacts[0].from", "its own output"},
		{"instances differ", head + other + "    depends: [p]\n    instances: 3\n    inputs: {artifacts: [{name: i, from: tasks.p.outputs.artifacts.o, path: in}]}\n", "tasks[1].inputs.artifacts[0].from", "2 instances"},
		{"dup input path", head + other + "    depends: [p]\n    instances: 2\n    inputs: {artifacts: [{name: i, from: tasks.p.outputs.artifacts.o, path: in}, {name: j, from: tasks.p.outputs.artifacts.o, path: ./in}]}\n", "tasks[1].inputs.artifacts[1].path", "also"},
		{"input escaping", head + other + "    depends: [p]\n    instances: 2\n    inputs: {artifacts: [{name: i, from: tasks.p.outputs.artifacts.o, path: ../x}]}\n", "tasks[1].inputs.artifacts[0].path", "escapes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			fe, ok := AsFieldError(err)
			if !ok {
				t.Fatalf("Parse = %v, want a field error on %s", err, c.field)
			}
			if fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("error = %q on %q, want %q on %q", fe.Msg, fe.Field, c.msg, c.field)
			}
		})
	}
}

func TestResolveInputs(t *testing.T) {
	s, err := Parse([]byte(`
name: r
tasks:
  - {name: one, command: x, outputs: {artifacts: [{name: m, path: m, maxSize: 5000}]}}
  - {name: many, command: x, instances: 3, outputs: {artifacts: [{name: part, path: p}]}}
  - name: use
    command: x
    instances: 3
    depends: [one, many]
    inputs: {artifacts: [{name: a, from: tasks.one.outputs.artifacts.m, path: in/m}, {name: b, from: tasks.many.outputs.artifacts.part, path: in/p}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := ResolveInputs(s, "use", 2)
	want := []ResolvedInput{
		{Name: "a", Path: "in/m", FromTask: "one", FromName: "m", FromIndex: 0, MaxSize: 5000},
		{Name: "b", Path: "in/p", FromTask: "many", FromName: "part", FromIndex: 2, MaxSize: DefaultArtifactMaxSize},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("ResolveInputs = %+v, want %+v", got, want)
	}
	if got := ResolveInputs(s, "one", 0); got != nil {
		t.Fatalf("a task without inputs resolves %+v", got)
	}
	if UsesArtifacts(&s.Tasks[0]) != "outputs.artifacts" || UsesArtifacts(&s.Tasks[2]) != "inputs.artifacts" {
		t.Fatal("UsesArtifacts")
	}
}
