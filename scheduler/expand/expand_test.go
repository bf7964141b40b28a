package expand

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

func ip(n int) *int { return &n }

func TestWithItems(t *testing.T) {
	task := job.TaskSpec{Name: "convert", Command: "convert {{item.src}} --to {{item.fmt}} --env {{inputs.parameters.env}}",
		Args: nil, Env: map[string]string{"SRC": "{{item.src}}", "N": "{{index}}", "FIXED": "x"}, Instances: 1}
	items := []any{
		map[string]any{"src": "a.png", "fmt": "jpg"},
		map[string]any{"src": "b.png", "fmt": "webp"},
		map[string]any{"src": "c.png", "fmt": map[string]any{"q": 90.0}},
	}
	e, err := Task("tasks[0]", task, Loop{WithItems: items}, map[string]string{"env": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Len() != 3 || e.Task.Instances != 3 {
		t.Fatalf("len %d", e.Len())
	}
	for i, want := range []struct{ cmd, src, item string }{
		{"convert a.png --to jpg --env prod", "a.png", `{"fmt":"jpg","src":"a.png"}`},
		{"convert b.png --to webp --env prod", "b.png", `{"fmt":"webp","src":"b.png"}`},
		{`convert c.png --to {"q":90} --env prod`, "c.png", `{"fmt":{"q":90},"src":"c.png"}`},
	} {
		in, err := e.Instance(i)
		if err != nil {
			t.Fatal(err)
		}
		if in.Command != want.cmd || in.Env["SRC"] != want.src || in.Env["FIXED"] != "x" || in.Env[ItemEnv] != want.item || in.Env["N"] != string(rune('0'+i)) {
			t.Errorf("instance %d: %+v", i, in)
		}
	}
	// The spec's own map is not touched.
	if task.Env["SRC"] != "{{item.src}}" {
		t.Error("input task modified")
	}
	if _, err := e.Instance(3); err == nil {
		t.Error("instance 3 of 3")
	}
}

func TestScalarItemsAndArgs(t *testing.T) {
	e, err := Task("tasks[1]", job.TaskSpec{Name: "say", Args: []string{"echo", "hello {{item}}", "plain"}},
		Loop{WithItems: []any{"world", 42.0, true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range e.Len() {
		in, _ := e.Instance(i)
		got = append(got, in.Args[1])
		if in.Args[0] != "echo" || in.Args[2] != "plain" {
			t.Errorf("args %q", in.Args)
		}
	}
	if !slices.Equal(got, []string{"hello world", "hello 42", "hello true"}) {
		t.Errorf("got %q", got)
	}
}

func TestWithSequence(t *testing.T) {
	for _, c := range []struct {
		seq  Sequence
		want []string
	}{
		{Sequence{Count: ip(3)}, []string{"0", "1", "2"}},
		{Sequence{Start: 5, End: ip(8)}, []string{"5", "6", "7", "8"}},
		{Sequence{Start: 3, End: ip(1)}, []string{"3", "2", "1"}},
		{Sequence{Start: 7, Count: ip(2), Format: "part-%03d"}, []string{"part-007", "part-008"}},
		{Sequence{Start: 1, End: ip(1), Format: "100%% %x"}, []string{"100% 1"}},
	} {
		e, err := Task("tasks[0]", job.TaskSpec{Name: "p", Command: "process {{item}}"}, Loop{WithSequence: &c.seq}, nil)
		if err != nil {
			t.Fatalf("%+v: %v", c.seq, err)
		}
		var got []string
		for i := range e.Len() {
			in, _ := e.Instance(i)
			got = append(got, strings.TrimPrefix(in.Command, "process "))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%+v: got %q, want %q", c.seq, got, c.want)
		}
	}
}

// A ten-million-instance sequence is held in constant space.
func TestSequenceIsCompact(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e, err := Task("tasks[0]", job.TaskSpec{Name: "p", Command: "shard {{item}} of {{inputs.parameters.total}}", Env: map[string]string{"I": "{{item}}"}},
		Loop{WithSequence: &Sequence{Count: ip(spec.MaxInstances), Format: "%08d"}}, map[string]string{"total": "10M"})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<10 {
		t.Errorf("expanding %d instances allocated %d bytes", e.Len(), grown)
	}
	in, err := e.Instance(spec.MaxInstances - 1)
	if err != nil || in.Command != "shard 09999999 of 10M" || in.Env["I"] != "09999999" {
		t.Fatalf("last instance %+v %v", in, err)
	}
}

func TestTaskErrors(t *testing.T) {
	items := Loop{WithItems: []any{map[string]any{"a": "1"}, map[string]any{"b": "2"}}}
	for _, c := range []struct {
		task  job.TaskSpec
		loop  Loop
		field string
		msg   string
	}{
		{job.TaskSpec{Command: "x {{item.a}}"}, items, "tasks[2].command", `withItems[1]: {{item.a}}: item {"b":"2"} has no field "a"`},
		{job.TaskSpec{Command: "x {{item.a}}"}, Loop{WithSequence: &Sequence{Count: ip(2)}}, "tasks[2].command", "is not an object"},
		{job.TaskSpec{Command: "x", Env: map[string]string{"A": "{{item}}"}}, Loop{}, "tasks[2].env.A", "without withItems"},
		{job.TaskSpec{Command: "x {{items}}"}, items, "tasks[2].command", "unknown placeholder"},
		{job.TaskSpec{Command: "x {{item"}, items, "tasks[2].command", "unclosed"},
		{job.TaskSpec{Args: []string{"a", "{{inputs.parameters.nope}}"}}, items, "tasks[2].args[1]", `unknown parameter "nope"`},
		{job.TaskSpec{Command: "x", Instances: 5}, items, "tasks[2].instances", "disagrees"},
		{job.TaskSpec{Command: "x"}, Loop{WithItems: []any{}}, "tasks[2].withItems", "empty"},
		{job.TaskSpec{Command: "x"}, Loop{WithItems: []any{1.0}, WithSequence: &Sequence{Count: ip(1)}}, "tasks[2].withSequence", "not both"},
		{job.TaskSpec{Command: "x"}, Loop{WithSequence: &Sequence{}}, "tasks[2].withSequence", "end or count"},
		{job.TaskSpec{Command: "x"}, Loop{WithSequence: &Sequence{End: ip(1), Count: ip(1)}}, "tasks[2].withSequence.count", "not both"},
		{job.TaskSpec{Command: "x"}, Loop{WithSequence: &Sequence{Count: ip(0)}}, "tasks[2].withSequence.count", "between"},
		{job.TaskSpec{Command: "x"}, Loop{WithSequence: &Sequence{End: ip(spec.MaxInstances)}}, "tasks[2].withSequence.end", "more than"},
		{job.TaskSpec{Command: "x"}, Loop{WithSequence: &Sequence{Count: ip(1), Format: "%s-%d"}}, "tasks[2].withSequence.format", "one printf verb"},
		{job.TaskSpec{Command: "x"}, Loop{WithSequence: &Sequence{Count: ip(1), Format: "%s"}}, "tasks[2].withSequence.format", "one printf verb"},
	} {
		_, err := Task("tasks[2]", c.task, c.loop, map[string]string{"p": "v"})
		fe, ok := spec.AsFieldError(err)
		if !ok || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("%+v %+v: got %v, want %s: ...%s...", c.task, c.loop, err, c.field, c.msg)
		}
	}
}

// A parameter value containing {{ is data, never a placeholder.
func TestParamValueIsLiteral(t *testing.T) {
	e, err := Task("tasks[0]", job.TaskSpec{Name: "a", Command: "echo {{inputs.parameters.p}} {{item}}"},
		Loop{WithItems: []any{"i"}}, map[string]string{"p": "{{item}}"})
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := e.Instance(0); in.Command != "echo {{item}} i" {
		t.Fatalf("got %q", in.Command)
	}
}

const tmplYAML = `
name: nightly-etl
parameters:
  - name: date
  - name: shards
    default: "4"
  - name: dry_run
    default: "false"
spec:
  name: "etl-{{inputs.parameters.date}}"
  tasks:
    - name: extract
      command: "extract --date {{inputs.parameters.date}} --dry-run={{inputs.parameters.dry_run}} --part {{index}}"
      instances: "{{inputs.parameters.shards}}"
      env: {SHARDS: "{{inputs.parameters.shards}}"}
    - name: load
      args: ["load", "{{inputs.parameters.date}}"]
      depends: [extract]
`

func TestTemplate(t *testing.T) {
	tp, err := ParseTemplate([]byte(tmplYAML))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRegistry()
	if err := r.Add(tp); err != nil {
		t.Fatal(err)
	}
	s, err := r.Instantiate("nightly-etl", map[string]string{"date": "2026-11-21", "shards": "12"})
	if err != nil {
		t.Fatal(err)
	}
	x := s.Tasks[0]
	if s.Name != "etl-2026-11-21" || x.Instances != 12 || x.Env["SHARDS"] != "12" || x.Retries != spec.DefaultRetries ||
		x.Command != "extract --date 2026-11-21 --dry-run=false --part {{index}}" {
		t.Errorf("instantiated %+v", s)
	}
	if !slices.Equal(s.Tasks[1].Args, []string{"load", "2026-11-21"}) {
		t.Errorf("load args %q", s.Tasks[1].Args)
	}
	if got := r.Names(); !slices.Equal(got, []string{"nightly-etl"}) {
		t.Errorf("names %v", got)
	}
	for _, c := range []struct {
		args  map[string]string
		field string
	}{
		{map[string]string{}, "args.date"},
		{map[string]string{"date": "d", "colour": "red"}, "args.colour"},
		{map[string]string{"date": "d", "shards": "many"}, "tasks[0].instances"},
		{map[string]string{"date": "d", "shards": "0"}, "tasks[0].instances"},
		{map[string]string{"date": "Not_A_Name"}, "name"},
	} {
		_, err := tp.Instantiate(c.args)
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != c.field {
			t.Errorf("args %v: got %v, want field %s", c.args, err, c.field)
		}
	}
	if _, err := r.Instantiate("nope", nil); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("unknown template: %v", err)
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, c := range []struct{ in, field string }{
		{"name: Bad\nspec: {name: x}", "name"},
		{"name: t\nparameters: [{name: '1x'}]\nspec: {name: x}", "parameters[0].name"},
		{"name: t\nparameters: [{name: a}, {name: a}]\nspec: {name: x}", "parameters[1].name"},
		{"name: t\n", "spec"},
		{"name: t\nspec: {name: x, tasks: [{name: a, command: 'echo {{inputs.parameters.who}}'}]}", "spec.tasks[0].command"},
		{"name: t\nspec: {name: x, tasks: [{name: a, command: 'echo {{who}}'}]}", "spec.tasks[0].command"},
		{"name: t\nspec: {name: x}\nextra: 1", ""},
	} {
		_, err := ParseTemplate([]byte(c.in))
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != c.field {
			t.Errorf("%q: got %v, want field %q", c.in, err, c.field)
		}
	}
}

func TestLoopsInSpec(t *testing.T) {
	s, err := spec.Parse([]byte(`
name: loops
params: {bucket: b1}
tasks:
  - {name: items, command: "echo {{item.name}} {{inputs.parameters.bucket}}", withItems: [{name: x}, {name: z}]}
  - {name: seq, command: "echo {{item}}", withSequence: {start: 1, end: 3, format: "part-%02d"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Tasks[0].Instances != 2 || s.Tasks[1].Instances != 3 {
		t.Fatalf("instances %d %d", s.Tasks[0].Instances, s.Tasks[1].Instances)
	}
	e, err := FromSpec(s, 0)
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.Instance(1)
	if err != nil || in.Command != "echo z b1" {
		t.Fatalf("instance 1: %+v %v", in, err)
	}
	e, _ = FromSpec(s, 1)
	if in, _ := e.Instance(2); in.Command != "echo part-03" || in.Env[ItemEnv] != "part-03" {
		t.Fatalf("sequence instance 2: %+v", in)
	}
	for doc, field := range map[string]string{
		`{name: l, tasks: [{name: a, command: "echo {{item.nope}}", withItems: [{name: x}]}]}`: "tasks[0].command",
		`{name: l, tasks: [{name: a, command: "echo {{inputs.parameters.p}}"}]}`:               "tasks[0].command",
		`{name: l, tasks: [{name: a, command: x, instances: 5, withItems: [p, q]}]}`:           "tasks[0].instances",
		`{name: l, tasks: [{name: a, command: x, withSequence: {start: 1}}]}`:                  "tasks[0].withSequence",
		`{name: l, tasks: [{name: a, command: x, withItems: [p], withSequence: {count: 2}}]}`:  "tasks[0].withSequence",
	} {
		_, err := spec.Parse([]byte(doc))
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != field {
			t.Errorf("%s: %v, want field %s", doc, err, field)
		}
	}
}

// Templates are bounded like specs: the document (aliases counted) and
// what instantiation builds from it.
func TestTemplateBounds(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "name: t\nspec:\n  name: x\n  params: {big: &big %s}\n  tasks:\n  - name: a\n    command: x\n    env:\n", strings.Repeat("a", 1<<20))
	for i := range 200 {
		fmt.Fprintf(&b, "      V%d: *big\n", i)
	}
	_, err := ParseTemplate([]byte(b.String()))
	if fe, ok := spec.AsFieldError(err); !ok || !strings.Contains(fe.Msg, "YAML aliases expand the template") {
		t.Fatalf("alias bomb: got %v", err)
	}

	// 1,000 placeholders in one command and a 64 KiB argument would build
	// a 64 MiB command.
	tp, err := ParseTemplate([]byte("name: t\nparameters: [{name: x}]\nspec:\n  name: x\n  tasks: [{name: a, command: '" +
		strings.Repeat("{{inputs.parameters.x}}", 1000) + "'}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tp.Instantiate(map[string]string{"x": strings.Repeat("y", 64<<10)})
	if fe, ok := spec.AsFieldError(err); !ok || fe.Field != "spec.tasks[0].command" || !strings.Contains(fe.Msg, "larger than") {
		t.Fatalf("amplified instantiation: got %v", err)
	}
	if _, err := tp.Instantiate(map[string]string{"x": "y"}); err != nil {
		t.Fatalf("a small argument: %v", err)
	}
}
