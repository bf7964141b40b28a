package compose

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// FuzzConvert converts compose files. It must never panic or run away; a
// refusal is a *fielderr.FieldError or ErrNotBatch; every converted spec
// passes spec.Validate.
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	more, _ := filepath.Glob("../../examples/compose/*.yml")
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	var bomb strings.Builder
	bomb.WriteString("labels: {aliyun.project_type: batch}\nx-big: &big " + strings.Repeat("a", 1<<20) + "\nservices:\n  s1:\n    image: alpine\n    environment:\n")
	for i := range 50 {
		bomb.WriteString("      V" + strings.Repeat("x", i+1) + ": *big\n")
	}
	f.Add([]byte(bomb.String()))
	f.Add([]byte("labels: {aliyun.project_type: batch}\nservices:\n  s1: {image: alpine, cpu_shares: 1, mem_limit: 1}\n"))
	f.Add([]byte("labels: {aliyun.project_type: batch}\nservices:\n  s1: {image: alpine, cpu_shares: 1e308, mem_limit: 1e308g}\n"))
	f.Add([]byte("labels: {aliyun.project_type: batch}\nservices:\n  s1: {image: alpine, labels: {aliyun.depends: '" + strings.Repeat("!", 100_000) + "s1'}}\n"))
	f.Add([]byte("services: " + strings.Repeat("[", 10_000)))
	images := Images{}
	if err := images.Add("alpine", Bundle{URI: "file:///b.tar.gz", Digest: digest, Cmd: []string{"true"}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = IsCompose(data)
		r, err := Convert(data, Options{Name: "fuzz", Images: images, Unmapped: UnmappedHost})
		if err != nil {
			if _, ok := spec.AsFieldError(err); !ok && !errors.Is(err, ErrNotBatch) {
				t.Fatalf("refusal %T %v is neither a *fielderr.FieldError nor ErrNotBatch", err, err)
			}
			return
		}
		if err := spec.Validate(r.Spec); err != nil {
			t.Fatalf("converted spec fails Validate: %v", err)
		}
	})
}
