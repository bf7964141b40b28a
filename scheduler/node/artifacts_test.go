package node

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/executor/artifacts"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
)

// A job's artifacts go with its records, by the GC or a purge; another
// job's stay.
func TestDeletingAJobDeletesItsArtifacts(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 30, 0, 0, time.UTC)
	n, _ := gcFixture(t, now)
	dir := filepath.Join(t.TempDir(), "artifacts")
	n.cfg.Framework.ArtifactStore = &gleanerpb.ArtifactStore{Url: "dir://" + dir}
	st, err := artifacts.NewDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, id := range []string{"young", "old", "running"} {
		if err := st.Put(ctx, artifacts.RefKey(id, "a", 0, "out"), strings.NewReader("{}"), 2); err != nil {
			t.Fatal(err)
		}
	}
	present := func(id string) bool {
		rc, err := st.Get(ctx, artifacts.RefKey(id, "a", 0, "out"))
		if err == nil {
			io.Copy(io.Discard, rc)
			rc.Close()
			return true
		}
		if !errors.Is(err, artifacts.ErrNotFound) {
			t.Fatal(err)
		}
		return false
	}
	if _, err := n.Purge(ctx, "young"); err != nil {
		t.Fatal(err)
	}
	if err := n.gcOnce(ctx, now, map[string]finishedJob{}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"young": false, "old": false, "running": true} {
		if got := present(id); got != want {
			t.Errorf("artifacts of %s present = %v, want %v", id, got, want)
		}
	}
}
