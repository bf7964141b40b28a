package engine

// RequeueWith marks active attempts like Requeue, all with the same reason,
// and with detail leading the message of their ended record (e.g. an
// eviction's "reclaimed: memory short: …"). It returns those found (task id
// → agent id) for the caller to kill.
func (e *Engine) RequeueWith(taskIDs []string, reason, detail string) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(taskIDs))
	for _, id := range taskIDs {
		if in := e.active[id]; in != nil {
			x := in.more()
			x.requeue, x.requeueDetail = reason, detail
			in.trimExtra()
			out[id] = in.activeAgentID()
		}
	}
	return out
}
