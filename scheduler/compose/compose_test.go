package compose

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func images(t *testing.T) Images {
	t.Helper()
	m, err := ParseImages([]byte(`
images:
  registry.example.com/batch/worker:1.0:
    uri: https://bundles.example.com/worker.tar.gz
    digest: ` + digest + `
  alpine:
    uri: file:///srv/bundles/alpine.tar.gz
    digest: ` + digest + `
    entrypoint: ["/bin/sh", "-c"]
    cmd: ["echo default"]
    env: ["PATH=/usr/bin:/bin", "MODE=image"]
`))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hasWarning(r *Result, sub string) bool {
	return slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, sub) })
}

// The example: s1 scale 10, s2 scale 4 depending on s1.
func TestAliyunExample(t *testing.T) {
	data := read(t, "batch.yml")
	if !IsCompose(data) {
		t.Fatal("not detected as compose")
	}
	r, err := Convert(data, Options{Name: "compose-demo", Images: images(t)})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Spec
	if s.Name != "compose-demo" || len(s.Tasks) != 2 {
		t.Fatalf("spec %+v", s)
	}
	s1, s2 := s.Tasks[0], s.Tasks[1]
	if s1.Name != "s1" || s1.Instances != 10 || s1.Retries != 5 || len(s1.Depends) != 0 {
		t.Errorf("s1 %+v", s1)
	}
	if s1.Command != "sh -c 'echo s1 part $GLEANER_INDEX'" || s1.Env["MODE"] != "extract" {
		t.Errorf("s1 command/env %q %v", s1.Command, s1.Env)
	}
	if s1.Resources.CPUs != 0.5 || s1.Resources.Mem != 256 {
		t.Errorf("s1 resources %+v", s1.Resources)
	}
	if s2.Name != "s2" || s2.Instances != 4 || s2.Retries != 3 || !slices.Equal(s2.Depends, []string{"s1"}) {
		t.Errorf("s2 %+v", s2)
	}
	if !slices.Equal(s2.Args, []string{"echo", "s2"}) || s2.Resources.Mem != 1024 || s2.Resources.CPUs != spec.DefaultCPUs {
		t.Errorf("s2 args/resources %v %+v", s2.Args, s2.Resources)
	}
	x1, x2 := r.Tasks[0], r.Tasks[1]
	if x1.Cleanup != RemoveNone || x2.Cleanup != RemoveFinished {
		t.Errorf("cleanup %s %s", x1.Cleanup, x2.Cleanup)
	}
	if x1.Bundle == nil || x1.Bundle.URI != "https://bundles.example.com/worker.tar.gz" || x1.Image != "registry.example.com/batch/worker:1.0" {
		t.Errorf("bundle %+v", x1)
	}
	if len(x1.Volumes) != 1 || x1.Volumes[0] != (Volume{Host: "/mnt/nas/data", Container: "/data", ReadOnly: true}) {
		t.Errorf("volumes %+v", x1.Volumes)
	}
	if !hasWarning(r, `services.s1.restart: "always" forced to no`) {
		t.Errorf("no restart warning in %q", r.Warnings)
	}
	// The converted spec is one the core accepts.
	if err := spec.Validate(s); err != nil {
		t.Fatal(err)
	}
}

func TestGleanerPrefixAndImageDefaults(t *testing.T) {
	r, err := Convert(read(t, "gleaner.yml"), Options{Images: images(t)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Spec.Name != "nightly" {
		t.Errorf("name %q", r.Spec.Name)
	}
	fetch, report := r.Spec.Tasks[0], r.Spec.Tasks[1]
	if fetch.Name != "fetch-data" || fetch.Retries != 0 || fetch.Labels["team"] != "data" || len(fetch.Labels) != 1 {
		t.Errorf("fetch %+v", fetch)
	}
	// The image's entrypoint and cmd, and its env.
	if !slices.Equal(fetch.Args, []string{"/bin/sh", "-c", "echo default"}) || fetch.Env["MODE"] != "image" {
		t.Errorf("fetch args %q env %v", fetch.Args, fetch.Env)
	}
	// A service entrypoint drops the image's cmd.
	if !slices.Equal(report.Args, []string{"/bin/report"}) || !slices.Equal(report.Depends, []string{"fetch-data"}) {
		t.Errorf("report %+v", report)
	}
	if r.Tasks[1].Cleanup != RemoveFailed || r.Tasks[0].Service != "fetch_data" {
		t.Errorf("extras %+v", r.Tasks)
	}
	if !hasWarning(r, `task named "fetch-data"`) {
		t.Errorf("warnings %q", r.Warnings)
	}
}

func TestNotBatch(t *testing.T) {
	for _, in := range []string{
		string(read(t, "online.yml")),
		"version: '2'\nlabels: {aliyun.project_type: online}\nservices: {a: {command: x}}\n",
	} {
		_, err := Convert([]byte(in), Options{Name: "x"})
		if !errors.Is(err, ErrNotBatch) || !strings.Contains(err.Error(), "not a batch job") {
			t.Errorf("Convert = %v, want ErrNotBatch", err)
		}
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != "labels" {
			t.Errorf("field error %v", err)
		}
	}
}

func TestDetect(t *testing.T) {
	if IsCompose([]byte("name: etl\ntasks: [{name: a, command: x}]\n")) {
		t.Error("Gleaner spec detected as compose")
	}
	if IsCompose([]byte(":::")) {
		t.Error("garbage detected as compose")
	}
}

func TestErrors(t *testing.T) {
	head := "version: '2'\nlabels: {aliyun.project_type: batch}\nservices:\n"
	for _, c := range []struct {
		svc   string
		opt   Options
		field string
	}{
		{"  a: {command: x, labels: {aliyun.scale: ten}}\n", Options{}, "services.a.labels.aliyun.scale"},
		{"  a: {command: x, labels: {aliyun.scale: '0'}}\n", Options{}, "services.a.labels.aliyun.scale"},
		{"  a: {command: x, labels: {aliyun.retry_count: '-1'}}\n", Options{}, "services.a.labels.aliyun.retry_count"},
		{"  a: {command: x, labels: {aliyun.depends: 'b, zz'}}\n  b: {command: z}\n", Options{}, "services.a.labels.aliyun.depends"},
		{"  a: {command: x, labels: {aliyun.remove_containers: remove-some}}\n", Options{}, "services.a.labels.aliyun.remove_containers"},
		{"  a: {command: x, labels: {aliyun.scale: '2', gleaner.scale: '3'}}\n", Options{}, "services.a.labels.aliyun.scale"},
		{"  a: {command: x, mem_limit: lots}\n", Options{}, "services.a.mem_limit"},
		{"  a: {command: x, scale: 0}\n", Options{}, "services.a.scale"},
		{"  a: {command: x, scale: 2, labels: {aliyun.scale: '3'}}\n", Options{}, "services.a.scale"},
		{"  a: {command: x, cpu_shares: 0.5}\n", Options{}, "services.a.cpu_shares"},
		{"  a: {image: nginx}\n", Options{}, "services.a.image"},
		{"  a: {image: 'UPPER CASE'}\n", Options{}, "services.a.image"},
		{"  a: {}\n", Options{}, "services.a.command"},
		{"  a: {command: x, volumes: ['data:/data']}\n", Options{}, "services.a.volumes[0]"},
		{"  a: {command: x, volumes: ['/d:/data:rx']}\n", Options{}, "services.a.volumes[0]"},
		{"  a: {command: x, environment: [1]}\n", Options{}, "services.a.environment[0]"},
		{"  a: {command: [x, 1]}\n", Options{}, "services.a.command[1]"},
		{"  a_b: {command: x}\n  a-b: {command: z}\n", Options{}, "services.a_b"},
		{"  a: {command: x, labels: {aliyun.depends: 'b'}}\n  b: {command: z, labels: {aliyun.depends: 'a'}}\n", Options{}, "services.a.labels.depends"},
	} {
		opt := c.opt
		opt.Name = "j"
		_, err := Convert([]byte(head+c.svc), opt)
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != c.field {
			t.Errorf("%q: got %v, want a field error on %s", c.svc, err, c.field)
		}
	}
	if _, err := Convert([]byte(head+"  a: {command: x}\n"), Options{}); err == nil || !strings.Contains(err.Error(), "name") {
		t.Errorf("no name: %v", err)
	}
	if _, err := Convert([]byte("version: '1'\n"+head[13:]+"  a: {command: x}\n"), Options{Name: "j"}); err == nil {
		t.Error("version 1 accepted")
	}
}

func TestUnmappedHost(t *testing.T) {
	r, err := Convert([]byte("labels: [aliyun.project_type=batch]\nservices:\n  a: {image: nginx, command: [run], restart: 'no', ports: ['80']}\n"),
		Options{Name: "j", Unmapped: UnmappedHost})
	if err != nil {
		t.Fatal(err)
	}
	if r.Tasks[0].Bundle != nil || r.Tasks[0].Image != "nginx" || !hasWarning(r, "runs on the agent's own filesystem") || !hasWarning(r, "services.a.ports: ignored") {
		t.Fatalf("%+v %q", r.Tasks, r.Warnings)
	}
	if hasWarning(r, "restart") {
		t.Errorf("restart: no warned about: %q", r.Warnings)
	}
}

func TestCommandForms(t *testing.T) {
	head := "labels: {gleaner.project_type: batch}\nservices:\n  a: "
	for _, c := range []struct {
		svc     string
		command string
		args    []string
	}{
		{"{command: 'echo hi', scale: 1}", "echo hi", nil},
		{"{entrypoint: [/bin/tool, -v], command: 'run \"$X\"'}", `'/bin/tool' '-v' run "$X"`, nil},
		{"{entrypoint: [\"it's\"], command: 'go'}", `'it'\''s' go`, nil},
		{"{entrypoint: 'tool --flag', command: [ignored]}", "tool --flag", nil},
		{"{entrypoint: [/bin/tool], command: [a, b]}", "", []string{"/bin/tool", "a", "b"}},
	} {
		r, err := Convert([]byte(head+c.svc+"\n"), Options{Name: "j"})
		if err != nil {
			t.Errorf("%s: %v", c.svc, err)
			continue
		}
		tk := r.Spec.Tasks[0]
		if tk.Command != c.command || !slices.Equal(tk.Args, c.args) {
			t.Errorf("%s: command %q args %q, want %q %q", c.svc, tk.Command, tk.Args, c.command, c.args)
		}
	}
}

func TestMemMiB(t *testing.T) {
	for in, want := range map[any]float64{"512m": 512, "1g": 1024, "1.5G": 1536, "1024k": 1, "100mb": 100, "1b": 1,
		"2t": 2 << 20, float64(1 << 30): 1024, "1048577": 2} {
		if got, err := MemMiB(in); err != nil || got != want {
			t.Errorf("MemMiB(%v) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []any{"", "0", "-1m", "1p", "m", true} {
		if _, err := MemMiB(in); err == nil {
			t.Errorf("MemMiB(%v) accepted", in)
		}
	}
}

func TestParseImagesErrors(t *testing.T) {
	for _, c := range []struct{ in, field string }{
		{"images: {alpine: {digest: " + digest + "}}", "images.alpine.uri"},
		{"images: {alpine: {uri: x, digest: sha256:abc}}", "images.alpine.digest"},
		{"images: {'Not A Ref': {uri: x, digest: " + digest + "}}", "images.Not A Ref"},
		{"images: {alpine: {uri: x, digest: " + digest + "}, 'docker.io/library/alpine:latest': {uri: w, digest: " + digest + "}}", "images.docker.io/library/alpine:latest"},
	} {
		_, err := ParseImages([]byte(c.in))
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != c.field {
			t.Errorf("%s: %v, want field %s", c.in, err, c.field)
		}
	}
	if _, err := ParseImages([]byte("images: {alpine: {uri: x, digest: " + digest + ", colour: red}}")); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestScaleKey(t *testing.T) {
	r, err := Convert([]byte("labels: {gleaner.project_type: batch}\nservices:\n  a: {command: x, scale: 7}\n"), Options{Name: "j"})
	if err != nil || r.Spec.Tasks[0].Instances != 7 {
		t.Fatalf("%v %v", r, err)
	}
}
