package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/rootfs"
	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/compose"
	"github.com/gleaner-project/gleaner/scheduler/isolation"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// demoBundle is the bundle deploy/demo.sh builds, the one bundle the
// examples may name without a digest (the CLI pins it at submit).
const demoBundle = "/var/tmp/gleaner-demo/bundles/busybox.tar.gz"

// devPolicy is the isolation policy of `gleaner dev` and `make demo`: the
// Gleaner executor, with an artifact store (dev's default directory).
var devPolicy = isolation.Policy{ArtifactStore: true}

// demoDigest is the digest the CLI would pin the demo bundle to: the real
// one when `make demo` has built it here, else a stand-in (the spec is
// then checked, not the file).
func demoDigest(t *testing.T) string {
	if d, _, err := rootfs.FileDigest(demoBundle); err == nil {
		return d
	}
	return rootfs.DigestPrefix + strings.Repeat("0", 64)
}

// Every example validates as it is (issue 13: volumes.yaml carried a
// digest placeholder): it parses, names no bundle but the one `make demo`
// builds (or pins its own digest), passes the isolation check of
// `gleaner dev` and `make demo` (devPolicy), and each
// task fits the agents `gleaner dev` starts. Running them is
// TestBatchExamples' and deploy/demo.sh's.
func TestExamplesValidateAsTheyAre(t *testing.T) {
	demo, err := os.ReadFile("../../deploy/demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(demo), "demo_bundle=$demo_bundles/busybox.tar.gz") || !strings.Contains(string(demo), "demo_bundles="+filepath.Dir(demoBundle)) {
		t.Fatalf("deploy/demo.sh no longer builds %s, which the examples name", demoBundle)
	}
	digest := demoDigest(t)
	pin := func(field string, b *job.Bundle) {
		t.Helper()
		if b == nil || b.Digest != "" {
			return
		}
		if b.URI != "file://"+demoBundle {
			t.Errorf("%s: %s has no digest and is not the demo's bundle", field, b.URI)
			return
		}
		b.Digest = digest
	}
	agents := make([]placement.Agent, 3) // gleaner dev: 3 agents of localmesos.DefaultResources
	for i := range agents {
		agents[i] = placement.Agent{ID: "a", Hostname: "local-agent", Attrs: map[string]string{}, Capacity: placement.Resources{CPUs: 4, Mem: 4096, Disk: 10240}}
	}
	check := func(t *testing.T, sp *job.Spec) {
		for i := range sp.Tasks {
			pin(sp.Tasks[i].Name+".bundle", sp.Tasks[i].Bundle)
		}
		if err := devPolicy.Check(sp); err != nil {
			t.Fatalf("refused by a scheduler on the Gleaner executor: %v", err)
		}
		p, err := api.PlanSpec(sp, agents)
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range p.Tasks {
			if !tp.Feasible {
				t.Errorf("task %s fits no agent of gleaner dev: %+v", tp.Name, tp.Reasons)
			}
		}
	}
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) < 10 {
		t.Fatalf("found %d examples", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), strings.Repeat("0", 64)) {
				t.Fatal("carries a placeholder digest")
			}
			sp, err := spec.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			check(t, sp)
		})
	}
	t.Run("compose with its image map", func(t *testing.T) {
		t.Parallel()
		b, err := os.ReadFile("../../examples/compose/docker-compose.yml")
		if err != nil {
			t.Fatal(err)
		}
		ib, err := os.ReadFile("../../examples/compose/images.yaml")
		if err != nil {
			t.Fatal(err)
		}
		js, err := spec.YAMLToJSON("image map", ib)
		if err != nil {
			t.Fatal(err)
		}
		// As the CLI pins it (cmd/gleaner bundlepin.go): the demo bundle's digest.
		pinnedMap := strings.Replace(string(js), `"uri":`, `"digest":"`+digest+`","uri":`, 1)
		images, err := compose.ParseImages([]byte(pinnedMap))
		if err != nil {
			t.Fatalf("image map: %v", err)
		}
		for name, im := range images {
			if im.URI != "file://"+demoBundle {
				t.Errorf("image %s: %s is not the demo's bundle", name, im.URI)
			}
		}
		res, err := compose.Convert(b, compose.Options{Images: images})
		if err != nil {
			t.Fatal(err)
		}
		check(t, res.Spec)
	})
}

// Every example is listed in examples/README.md and run: by `make demo`
// (deploy/demo.sh) or by an end-to-end test here that names it. An example
// nothing runs would rot unseen.
func TestEveryExampleIsListedAndRun(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples: %v %v", files, err)
	}
	readme, err := os.ReadFile("../../examples/README.md")
	if err != nil {
		t.Fatal(err)
	}
	runners := []string{"../../deploy/demo.sh"}
	tests, _ := filepath.Glob("*_test.go")
	for _, f := range tests {
		if f != "examples_test.go" {
			runners = append(runners, f)
		}
	}
	var corpus strings.Builder
	for _, f := range runners {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		corpus.Write(b)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if !strings.Contains(string(readme), "| "+name+" |") {
			t.Errorf("%s is not in the table of examples/README.md", name)
		}
		if !strings.Contains(corpus.String(), `"`+name+`"`) && !strings.Contains(corpus.String(), "examples/"+name) {
			t.Errorf("%s: neither deploy/demo.sh nor a test in test/e2e runs it", name)
		}
	}
}
