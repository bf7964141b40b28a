package framework

import "time"

// DefaultMaxUpdateBacklog is how many status updates may wait for the update
// loop before offer cycles stop launching. Each launch brings about two
// (RUNNING and its end); when launches outrun the loop's etcd writes, the
// updates would otherwise queue without bound (the 200,000-instance job of
// issue 16 queued over 100,000 at its peak, the largest part of the
// scheduler's heap) while the job goes no faster: the loop sets its pace.
// 20,000 queued updates are ten batches of the loop, and hold about 4 MB
// (176 B each) or, with the queue's backing array grown ahead of them, up
// to about 10 MB at the peak of that job.
const DefaultMaxUpdateBacklog = 20_000

// updatesPerLaunch is what one launch adds to the backlog: its RUNNING and
// its end.
const updatesPerLaunch = 2

// backlogRefuse filters the offers of a cycle that launched nothing because
// the backlog was full: the loop drains a full backlog in about a second.
const backlogRefuse = time.Second

// launchRoom is how many launches an offer cycle may decide while backlog
// updates wait and at most max may: the room left under max for the
// updates they will bring, 0 when there is none.
func launchRoom(backlog, max int) int {
	return (max - min(backlog, max)) / updatesPerLaunch
}
