package metrics

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	prometheus.MustRegister(APIRequests, APIDuration, LeaderChanges, Etcd)
}

// RegisterNode registers a StateCollector over src with reg and counts
// src's leadership changes into LeaderChanges until ctx ends; the returned
// func unregisters it (a process may run one node after another).
func RegisterNode(ctx context.Context, reg prometheus.Registerer, src Source, cfg StateConfig) (func(), error) {
	c := NewStateCollector(src, cfg)
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return nil, errors.New("state metrics: a node is registered already")
		}
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		WatchLeadership(wctx, src.IsLeader, LeaderChanges, 0)
	}()
	return func() {
		cancel()
		<-done
		reg.Unregister(c)
	}, nil
}
