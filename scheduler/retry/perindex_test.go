package retry

import (
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

func TestIndexTolerancePhase(t *testing.T) {
	upTo2 := IndexTolerance{On: true, MaxFailed: 2}
	none := IndexTolerance{On: true, MaxFailed: 0}
	unset := IndexTolerance{On: true, MaxFailed: -1}
	for _, c := range []struct {
		name                         string
		tol                          IndexTolerance
		instances, succeeded, failed int
		want                         IndexPhase
	}{
		{"nothing ended", upTo2, 20, 0, 0, IndexesRunning},
		{"failures within the tolerance keep it running", upTo2, 20, 5, 2, IndexesRunning},
		{"one failure too many fails it at once", upTo2, 20, 5, 3, IndexesFailed},
		{"all ended within the tolerance", upTo2, 20, 18, 2, IndexesSucceeded},
		{"all ended, none failed", upTo2, 20, 20, 0, IndexesSucceeded},
		{"tolerance 0: the first failure fails it", none, 20, 0, 1, IndexesFailed},
		{"tolerance 0, all succeeded", none, 3, 3, 0, IndexesSucceeded},
		{"unset: a failure waits for the rest", unset, 20, 3, 1, IndexesRunning},
		{"unset: all ended with a failure", unset, 20, 19, 1, IndexesFailed},
		{"unset: all succeeded", unset, 20, 20, 0, IndexesSucceeded},
		{"tolerance = instances never fails", IndexTolerance{On: true, MaxFailed: 4}, 4, 0, 4, IndexesSucceeded},
	} {
		if got := c.tol.Phase(c.instances, c.succeeded, c.failed); got != c.want {
			t.Errorf("%s: Phase(%d, %d, %d) = %s, want %s", c.name, c.instances, c.succeeded, c.failed, got, c.want)
		}
	}
}

func TestToleranceOf(t *testing.T) {
	two, three := 2, 3
	for _, c := range []struct {
		spec job.TaskSpec
		want IndexTolerance
	}{
		{job.TaskSpec{Retries: 3}, IndexTolerance{}},
		{job.TaskSpec{BackoffLimitPerIndex: &two}, IndexTolerance{On: true, MaxFailed: -1}},
		{job.TaskSpec{BackoffLimitPerIndex: &two, MaxFailedIndexes: &three}, IndexTolerance{On: true, MaxFailed: 3}},
	} {
		if got := ToleranceOf(&c.spec); got != c.want {
			t.Errorf("ToleranceOf(%+v) = %+v, want %+v", c.spec, got, c.want)
		}
	}
}
