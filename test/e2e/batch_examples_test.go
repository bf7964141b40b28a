package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/compose"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

func example(t *testing.T, file string) *job.Spec {
	t.Helper()
	b, err := os.ReadFile("../../examples/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return mustSpec(t, string(b))
}

// The compose example (s1 scale 10, s2 scale 4 depending on s1), converted
// as `gleaner job submit -f` does and run on the agents' filesystem under
// the Gleaner executor (s2's remove-none cleanup is refused by a scheduler
// on the command executor, which cannot enforce it).
func TestBatchComposeExample(t *testing.T) {
	execNeedRoot(t)
	bin := execGleanerBinary(t)
	b, err := os.ReadFile("../../examples/compose/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !compose.IsCompose(b) {
		t.Fatal("not recognised as a compose file")
	}
	res, err := compose.Convert(b, compose.Options{Unmapped: compose.UnmappedHost})
	if err != nil {
		t.Fatal(err)
	}
	env := newSchedEnv(t, localmesos.Config{Agents: 3, WorkDir: openDir(t)})
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.ExecutorPath = bin })
	j := submit(t, []*node.Node{n}, res.Spec)
	st, as := waitBatch(t, n, j.ID, 60*time.Second)
	if st.State != job.Succeeded || st.Name != "compose-demo" {
		t.Fatalf("job %s: %+v", st.State, st)
	}
	s1, s2 := taskStatus(st, "s1"), taskStatus(st, "s2")
	if s1.Counts.Succeeded != 10 || s2.Counts.Succeeded != 4 {
		t.Fatalf("counts s1 %+v s2 %+v", s1.Counts, s2.Counts)
	}
	m := byTask(as)
	var lastS1 time.Time
	for _, a := range m["s1"] {
		if a.Ended.After(lastS1) {
			lastS1 = a.Ended
		}
	}
	for _, a := range m["s2"] {
		if a.Created.Before(lastS1) {
			t.Errorf("s2/%d launched at %s before s1 ended at %s", a.Index, a.Created, lastS1)
		}
	}
	if sp := j.Task("s1"); sp.Retries != 2 || sp.Cleanup != "" {
		t.Errorf("s1 spec: retries %d cleanup %q", sp.Retries, sp.Cleanup)
	}
	if sp := j.Task("s2"); sp.Cleanup != "remove-none" || len(sp.Depends) != 1 {
		t.Errorf("s2 spec: cleanup %q depends %v", sp.Cleanup, sp.Depends)
	}
}

// The examples/ jobs run to their documented end (simulated tasks where
// the processes add nothing).
func TestBatchExamples(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 3, Resources: "cpus:8;mem:8192;disk:1024"})
	n, _ := env.startNode("a", func(c *node.Config) { c.CronInterval = 100 * time.Millisecond })
	sim := newSchedEnv(t, localmesos.Config{Agents: 3, Simulated: true, Resources: "cpus:64;mem:65536;disk:1024"})
	sn, _ := sim.startNode("s")

	t.Run("array", func(t *testing.T) {
		sp := example(t, "array.yaml")
		sp.Tasks[0].Labels = map[string]string{"localmesos.sim/duration": "20ms"}
		j := submit(t, []*node.Node{sn}, sp)
		st, as := waitBatch(t, sn, j.ID, 60*time.Second)
		if st.State != job.Succeeded || len(as) != 1000 || maxOverlap(as) > 50 {
			t.Fatalf("array: %s, %d attempts, %d at once", st.State, len(as), maxOverlap(as))
		}
	})
	t.Run("retries", func(t *testing.T) {
		j := submit(t, []*node.Node{n}, example(t, "retries.yaml"))
		st, as := waitBatch(t, n, j.ID, 60*time.Second)
		as = byTask(as)["flaky"]
		if st.State != job.Succeeded || len(as) != 3 || *as[0].ExitCode != 75 || *as[1].ExitCode != 1 {
			t.Fatalf("retries: %s %+v", st.State, as)
		}
		if gap := as[2].Created.Sub(as[1].Ended); gap < time.Second {
			t.Errorf("third attempt %v after the second, backoff 1s", gap)
		}
	})
	t.Run("diamond-expr", func(t *testing.T) {
		j := submit(t, []*node.Node{n}, example(t, "diamond-expr.yaml"))
		st, as := waitBatch(t, n, j.ID, 60*time.Second)
		if len(as) != 6 || st.State != job.Succeeded || taskStatus(st, "join").State != job.Succeeded ||
			taskStatus(st, "alert").State != job.Skipped || taskStatus(st, "report").State != job.Skipped {
			t.Fatalf("diamond-expr: %+v", st)
		}
	})
	t.Run("timeouts", func(t *testing.T) {
		j := submit(t, []*node.Node{n}, example(t, "timeouts.yaml"))
		if st, _ := waitBatch(t, n, j.ID, 60*time.Second); st.State != job.Succeeded {
			t.Fatalf("timeouts: %+v", st)
		}
	})
	t.Run("loop", func(t *testing.T) {
		sp := example(t, "loop.yaml")
		out := openDir(t)
		// Same template, written where the test can read it.
		sp.Tasks[0].Command = "echo {{item.size}} {{inputs.parameters.bucket}} > " + out + "/{{item.file}}"
		j := submit(t, []*node.Node{n}, sp)
		st, as := waitBatch(t, n, j.ID, 60*time.Second)
		if st.State != job.Succeeded || len(as) != 8 {
			t.Fatalf("loop: %s, %d attempts", st.State, len(as))
		}
		for file, want := range map[string]string{"a.jpg": "640 photos\n", "b.jpg": "1024 photos\n", "c.jpg": "320 photos\n"} {
			if b, err := os.ReadFile(filepath.Join(out, file)); err != nil || string(b) != want {
				t.Errorf("%s: %q %v", file, b, err)
			}
		}
	})
	t.Run("cron", func(t *testing.T) {
		sp := example(t, "cron.yaml")
		sp.Schedule.Cron = "@every 1s"
		j := submit(t, []*node.Node{n}, sp)
		waitFor(t, "two runs succeeded", 30*time.Second, func() bool {
			js, _ := n.Store().ListJobs(t.Context())
			ok := 0
			for _, r := range js {
				if r.Parent == j.ID {
					if st, _ := bstatus(t, n, r.ID); st.State == job.Succeeded {
						ok++
					}
				}
			}
			return ok >= 2
		})
		if _, err := n.Kill(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("restart-always", func(t *testing.T) {
		sp := example(t, "restart-always.yaml")
		sp.Tasks[0].Labels = map[string]string{"localmesos.sim/duration": "200ms"}
		sp.Tasks[0].Backoff.Delay = job.Duration(50 * time.Millisecond)
		j := submit(t, []*node.Node{sn}, sp)
		waitFor(t, "workers restarted after exiting", 30*time.Second, func() bool {
			st, as := bstatus(t, sn, j.ID)
			return st.State == job.Running && len(as) >= 6
		})
		if _, err := sn.Kill(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
		if st, _ := waitBatch(t, sn, j.ID, 30*time.Second); st.State != job.Killed {
			t.Fatalf("restart-always after kill: %s", st.State)
		}
	})
}

// examples/cleanup.yaml with the Gleaner executor: each task's sandbox is
// removed or kept as its policy says for its outcome, stdout always kept.
func TestCleanupExample(t *testing.T) {
	execNeedRoot(t)
	bin := execGleanerBinary(t)
	work := openDir(t)
	env := newSchedEnv(t, localmesos.Config{Agents: 4, WorkDir: work})
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.ExecutorPath = bin })
	j := submit(t, []*node.Node{n}, example(t, "cleanup.yaml"))
	st, as := waitBatch(t, n, j.ID, 90*time.Second)
	if st.State != job.Succeeded || len(as) != 4 {
		t.Fatalf("job %s (%d attempts): %+v", st.State, len(as), st)
	}
	want := map[string]bool{"keep-failed": true, "keep-ok": false, "keep-none": true, "keep-all": false} // sandbox removed?
	for _, a := range as {
		var dir string
		filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && d.Name() == a.TaskID() && filepath.Base(filepath.Dir(p)) == "tasks" {
				dir = p
				return filepath.SkipAll
			}
			return nil
		})
		if dir == "" {
			t.Errorf("%s: no task dir under %s", a.TaskID(), work)
			continue
		}
		_, err := os.Stat(filepath.Join(dir, "sandbox"))
		if removed := os.IsNotExist(err); removed != want[a.Task] {
			t.Errorf("%s (%s): sandbox removed %v, want %v", a.Task, a.State, removed, want[a.Task])
		}
		if _, err := os.Stat(filepath.Join(dir, "stdout")); err != nil {
			t.Errorf("%s: stdout gone: %v", a.Task, err)
		}
	}
}
