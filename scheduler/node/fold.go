package node

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// Folding defaults: a succeeded job with a task of at least
// DefaultFoldMinInstances instances has its first-attempt successes folded
// into index ranges, checked every DefaultFoldInterval.
const (
	DefaultFoldMinInstances = 10_000
	DefaultFoldInterval     = 30 * time.Second
)

func (n *Node) foldLoop(ctx context.Context) {
	every := n.cfg.FoldInterval
	if every <= 0 {
		every = DefaultFoldInterval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := n.foldOnce(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("fold finished jobs", "err", err)
		}
	}
}

// foldOnce folds every big succeeded job not folded yet: the ranges are
// stored in the job record first, then the folded attempt records are
// deleted (a crash in between leaves both, which Derive counts once). After
// a fold it returns the freed memory to the OS once.
func (n *Node) foldOnce(ctx context.Context) error {
	t := n.current()
	if t == nil {
		return nil
	}
	del, ok := t.store.(store.AttemptDeleter)
	if !ok {
		return nil
	}
	min := n.cfg.FoldMinInstances
	if min <= 0 {
		min = DefaultFoldMinInstances
	}
	jobs, err := t.store.ListJobs(ctx)
	if err != nil {
		return err
	}
	scheduling := map[string]bool{}
	for _, id := range t.engine.Jobs() {
		scheduling[id] = true
	}
	folded := 0
	defer func() {
		if folded > 0 {
			// A one-off: the pages read and deleted are garbage the
			// runtime would keep as the process's memory for minutes.
			debug.FreeOSMemory()
		}
	}()
	for _, j := range jobs {
		if j.Folded != nil || scheduled(j) || scheduling[j.ID] || !big(j, min) {
			continue
		}
		// Counted page by page: a 200k-instance job's records decoded at
		// once were most of the scheduler's heap after the job (issue 16).
		r, err := reduce(ctx, t.store, j)
		if err != nil {
			return err
		}
		if r.Status().State != job.Succeeded {
			continue
		}
		f := r.Folds()
		if len(f) == 0 {
			continue
		}
		if err := n.storeFolds(ctx, t, j.ID, f); err != nil {
			return err
		}
		deleted, err := del.DeleteFolded(ctx, j.ID, f)
		if err != nil {
			return err
		}
		folded += deleted
		n.log.Info("job folded", "job", j.ID, "records", deleted)
	}
	return nil
}

func big(j *job.Job, min int) bool {
	for _, t := range j.Spec.Tasks {
		if t.Instances >= min {
			return true
		}
	}
	return false
}

// storeFolds records folds on the job as it is now, not on the copy listed
// before (a kill stored meanwhile must not be overwritten).
func (n *Node) storeFolds(ctx context.Context, t *term, id string, f job.Folds) error {
	_, err := t.store.UpdateJob(ctx, id, func(j *job.Job) error {
		j.Folded = f
		return nil
	})
	return err
}
