package executor

import (
	"time"

	"github.com/gleaner-project/gleaner/executor/cgroups"
)

// sweepStaleCgroups removes, once per executor and in the background, the
// empty task cgroups older than cgroups.StaleAge under this executor's parent:
// an executor killed before it destroyed its task's cgroup (SIGKILL, the OOM
// killer, a host crash) leaves an empty directory there, and nothing else on
// the host removes it.
func (e *Executor) sweepStaleCgroups() {
	e.staleCgroupSweep.Do(func() {
		cfg := cgroups.Config{Root: e.cfg.CgroupRoot, Parent: e.cfg.CgroupParent}
		go func() {
			removed, err := cgroups.SweepStale(cfg, cgroups.StaleAge, time.Now())
			if len(removed) > 0 {
				e.log.Info("removed task cgroups left by killed executors", "count", len(removed), "parent", cfg.Parent)
			}
			if err != nil {
				e.log.Warn("sweep stale task cgroups", "err", err)
			}
		}()
	})
}
