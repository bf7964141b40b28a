package e2e

import (
	"time"

	"github.com/gleaner-project/gleaner/scheduler/cron"
)

// The cron tests here run a schedule every second, so a failover test
// takes seconds, not minutes; a submitted schedule otherwise runs at most
// once a minute (cron.MinInterval).
func init() { cron.MinInterval = time.Second }
