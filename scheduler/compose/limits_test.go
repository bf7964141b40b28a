package compose

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Compose files share settings through anchors and merge keys: a few
// uses are accepted.
func TestConvertAcceptsAnchorsForSharedSettings(t *testing.T) {
	data := []byte(`
labels: {aliyun.project_type: batch, aliyun.project_name: shared}
x-worker: &worker
  image: registry.example.com/batch/worker:1.0
  mem_limit: 256m
  labels: {aliyun.scale: "2"}
services:
  s1:
    <<: *worker
    command: ["echo", "s1"]
  s2:
    <<: *worker
    command: ["echo", "s2"]
`)
	r, err := Convert(data, Options{Images: images(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Spec.Tasks) != 2 || r.Spec.Tasks[1].Instances != 2 || r.Spec.Tasks[1].Resources.Mem != 256 {
		t.Fatalf("tasks %+v", r.Spec.Tasks)
	}
}

// Issue 10 finding 4 through a compose file: the alias expansion is
// counted and refused, naming the anchor.
func TestConvertRefusesAliasAmplification(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "labels: {aliyun.project_type: batch}\nx-big: &big %s\nservices:\n  s1:\n    image: alpine\n    environment:\n", strings.Repeat("a", 1<<20))
	for i := range 200 {
		fmt.Fprintf(&b, "      V%d: *big\n", i)
	}
	data := []byte(b.String())
	if IsCompose(data) {
		t.Error("IsCompose expanded an alias bomb")
	}
	_, err := Convert(data, Options{Images: images(t)})
	fe, ok := spec.AsFieldError(err)
	if !ok || !strings.Contains(fe.Msg, "YAML aliases expand the compose file") || !strings.Contains(fe.Msg, "&big") {
		t.Fatalf("got %v", err)
	}
	_, err = ParseImages([]byte("images:\n  alpine: {uri: x, digest: " + digest + "}\n" + strings.Repeat("[", 100) + strings.Repeat("]", 100)))
	if err == nil || !strings.Contains(err.Error(), "image map") {
		t.Fatalf("image map: got %v", err)
	}
}
