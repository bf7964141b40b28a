package node

import (
	"context"
	"crypto/sha256"
	"encoding/json"
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
		n.background.Lock()
		if n.unfoldable == nil {
			n.unfoldable = map[string][sha256.Size]byte{}
		}
		err := n.foldOnce(ctx, n.unfoldable)
		n.background.Unlock()
		if err != nil && ctx.Err() == nil {
			n.log.Warn("fold finished jobs", "err", err)
		}
	}
}

// foldMin is the least instances of a task that make its job big enough
// to fold.
func (n *Node) foldMin() int {
	if n.cfg.FoldMinInstances > 0 {
		return n.cfg.FoldMinInstances
	}
	return DefaultFoldMinInstances
}

// fingerprint identifies a job record's content: a big job the fold found
// not to fold is read again only once its record changed.
func fingerprint(j *job.Job) ([sha256.Size]byte, error) {
	rec, err := json.Marshal(j)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(rec), nil
}

// leftToFold reports whether the fold has yet to decide on j, a finished
// job: a big one, not folded, not found unfoldable as it is now, in a
// store the fold works on. Retention leaves it to the fold first, which
// reads it once and deletes most of its records, so a big job just
// finished is not read whole twice (at once, as the two passes could).
// Call with n.background held.
func (n *Node) leftToFold(t *term, j *job.Job) bool {
	if _, ok := t.store.(store.AttemptDeleter); !ok || j.Folded != nil || !big(j, n.foldMin()) {
		return false
	}
	was, ok := n.unfoldable[j.ID]
	if !ok {
		return true
	}
	fp, err := fingerprint(j)
	return err == nil && fp != was
}

// foldOnce folds every big succeeded job not folded yet: the ranges are
// stored in the job record first, then the folded attempt records are
// deleted (a crash in between leaves both, which Derive counts once). After
// a fold it returns the freed memory to the OS once. A big job found not
// to fold (it failed, or nothing in it folds) is remembered in unfoldable
// with its record's fingerprint and not read again until its record
// changes: its attempts no longer change otherwise.
func (n *Node) foldOnce(ctx context.Context, unfoldable map[string][sha256.Size]byte) error {
	t := n.current()
	if t == nil {
		return nil
	}
	del, ok := t.store.(store.AttemptDeleter)
	if !ok {
		return nil
	}
	min := n.foldMin()
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
	seen := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		seen[j.ID] = true
		if j.Folded != nil || scheduled(j) || scheduling[j.ID] || !big(j, min) {
			continue
		}
		fp, err := fingerprint(j)
		if err != nil {
			return err
		}
		if was, ok := unfoldable[j.ID]; ok && was == fp {
			continue
		}
		// Counted page by page: a 200k-instance job's records decoded at
		// once were most of the scheduler's heap after the job (issue 16).
		r, err := reduce(ctx, t.store, j)
		if err != nil {
			return err
		}
		st, f := r.Status().State, r.Folds()
		if st != job.Succeeded || len(f) == 0 {
			if st.Terminal() {
				unfoldable[j.ID] = fp
			}
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
	for id := range unfoldable {
		if !seen[id] {
			delete(unfoldable, id)
		}
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
