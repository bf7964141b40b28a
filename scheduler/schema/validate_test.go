package schema

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/compose"
	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/spec"
	"sigs.k8s.io/yaml"
)

// validator checks documents against the schema with Python's jsonschema
// (a full draft 2020-12 implementation), so Gleaner carries no Go schema
// library; it also checks the schema against the metaschema.
const validator = `
import json, sys
from jsonschema import Draft202012Validator
req = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(req["schema"])
v = Draft202012Validator(req["schema"])
out = {}
for name, doc in req["docs"].items():
    errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    out[name] = None if not errs else "/".join(str(p) for p in errs[0].path) + ": " + errs[0].message
json.dump(out, sys.stdout)
`

func validate(t *testing.T, docs map[string]any) map[string]*string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: schema validation of documents skipped")
	}
	if err := exec.Command(py, "-c", "import jsonschema").Run(); err != nil {
		t.Skip("python3 jsonschema not installed (pip install jsonschema / Debian python3-jsonschema): skipped")
	}
	var schema any
	if err := json.Unmarshal(JSON, &schema); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(map[string]any{"schema": schema, "docs": docs})
	f := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(f, in, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", validator, f)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("validator: %v: %s", err, stderr.String())
	}
	var res map[string]*string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("validator output %q: %v", out, err)
	}
	return res
}

func yamlDoc(t *testing.T, b []byte) any {
	t.Helper()
	js, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func goDoc(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// Every example job, every compose fixture's converted spec and an
// instantiated template are valid; documents the parser rejects for
// their shape are invalid too.
func TestDocumentsAgainstSchema(t *testing.T) {
	good := map[string]any{}
	examples, _ := filepath.Glob("../../examples/*.yaml")
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	for _, f := range examples {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.Parse(b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		good[filepath.Base(f)] = yamlDoc(t, b)
	}
	images := compose.Images{}
	if err := images.Add("alpine", compose.Bundle{URI: "file:///b.tar.gz", Cmd: []string{"true"},
		Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	fixtures, _ := filepath.Glob("../compose/testdata/*.yml")
	for _, f := range fixtures {
		b, _ := os.ReadFile(f)
		r, err := compose.Convert(b, compose.Options{Name: "from-compose", Images: images, Unmapped: compose.UnmappedHost})
		if errors.Is(err, compose.ErrNotBatch) {
			continue // online.yml
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		good["compose/"+filepath.Base(f)] = goDoc(t, r.Spec)
	}
	tp, err := expand.ParseTemplate([]byte(`
name: t
parameters: [{name: count, default: "3"}]
spec: {name: "x-{{inputs.parameters.count}}", tasks: [{name: a, command: "echo {{index}}", instances: "{{inputs.parameters.count}}"}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := tp.Instantiate(nil)
	if err != nil {
		t.Fatal(err)
	}
	good["template"] = goDoc(t, inst)
	if len(good) < len(examples)+3 {
		t.Fatalf("only %d documents", len(good))
	}

	bad := map[string]string{
		"unknown-top":       "name: x\ntasks: [{name: a, command: c}]\ncolour: red",
		"unknown-task":      "name: x\ntasks: [{name: a, command: c, colour: red}]",
		"bad-name":          "name: X_Y\ntasks: [{name: a, command: c}]",
		"bad-task-name":     "name: x\ntasks: [{name: 'a b', command: c}]",
		"no-tasks":          "name: x",
		"empty-tasks":       "name: x\ntasks: []",
		"no-command":        "name: x\ntasks: [{name: a}]",
		"command-and-args":  "name: x\ntasks: [{name: a, command: c, args: [c]}]",
		"negative-cpus":     "name: x\ntasks: [{name: a, command: c, resources: {cpus: -1}}]",
		"zero-instances":    "name: x\ntasks: [{name: a, command: c, instances: 0}]",
		"fractional-gpus":   "name: x\ntasks: [{name: a, command: c, resources: {gpus: 0.5, cpus: 1}}]",
		"negative-retries":  "name: x\ntasks: [{name: a, command: c, retries: -1}]",
		"depends-number":    "name: x\ntasks: [{name: a, command: c}, {name: b, command: c, depends: 3}]",
		"restart-bad":       "name: x\ntasks: [{name: a, command: c, restart: Sometimes}]",
		"retries-unknown":   "name: x\ntasks: [{name: a, command: c, retries: {limit: 1, tries: 2}}]",
		"cleanup-bad":       "name: x\ntasks: [{name: a, command: c, cleanup: keep}]",
		"volume-relative":   "name: x\ntasks: [{name: a, command: c, volumes: [{host: nas, container: /in}]}]",
		"parallelism-neg":   "name: x\ntasks: [{name: a, command: c, parallelism: -2}]",
		"max-failed-alone":  "name: x\ntasks: [{name: a, command: c, instances: 3, maxFailedIndexes: 1}]",
		"per-index-neg":     "name: x\ntasks: [{name: a, command: c, instances: 3, backoffLimitPerIndex: -1}]",
		"unknown-resource":  "name: x\ntasks: [{name: a, command: c, resources: {cpu: 1}}]",
		"tiny-cpus":         "name: x\ntasks: [{name: a, command: c, resources: {cpus: 0.0000001, mem: 0}}]",
		"huge-cpus":         "name: x\ntasks: [{name: a, command: c, resources: {cpus: 1e308}}]",
		"small-mem":         "name: x\ntasks: [{name: a, command: c, resources: {mem: 16}}]",
		"long-when":         "name: x\ntasks: [{name: a, command: c, when: '" + strings.Repeat("true && ", 1100) + "true'}]",
		"label-key-bad":     "name: x\nlabels: {'a b': c}\ntasks: [{name: a, command: c}]",
		"label-value-long":  "name: x\nlabels: {a: " + strings.Repeat("v", spec.MaxLabelValueLen+1) + "}\ntasks: [{name: a, command: c}]",
		"artifact-abs-path": "name: x\ntasks: [{name: a, command: c, outputs: {artifacts: [{name: o, path: /etc/passwd}]}}]",
		"artifact-bad-from": "name: x\ntasks: [{name: a, command: c, outputs: {artifacts: [{name: o, path: o}]}}, {name: b, command: c, depends: [a], inputs: {artifacts: [{name: i, from: a.o, path: i}]}}]",
		"artifact-huge":     "name: x\ntasks: [{name: a, command: c, outputs: {artifacts: [{name: o, path: o, maxSize: 1e12}]}}]",
	}
	good["labels"] = yamlDoc(t, []byte("name: x\nlabels: {team: data, app.kubernetes.io/part-of: etl}\ntasks: [{name: a, command: c}]"))
	docs := map[string]any{}
	for k, v := range good {
		docs[k] = v
	}
	for k, v := range bad {
		if _, err := spec.Parse([]byte(v)); err == nil {
			t.Fatalf("%s: the parser accepts it", k)
		}
		docs["bad/"+k] = yamlDoc(t, []byte(v))
	}
	res := validate(t, docs)
	for k := range good {
		if e, ok := res[k]; !ok || e != nil {
			t.Errorf("%s: rejected by the schema: %v", k, deref(e))
		}
	}
	for k := range bad {
		if e := res["bad/"+k]; e == nil {
			t.Errorf("bad/%s: accepted by the schema", k)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
