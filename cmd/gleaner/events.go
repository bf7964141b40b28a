package main

import (
	"context"
	"log/slog"

	"github.com/urfave/cli/v2"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/events"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/templates"
)

// webhooksFlag is the scheduler's (and gleaner dev's) --webhooks.
func webhooksFlag() cli.Flag {
	return &cli.StringFlag{Name: "webhooks", Usage: "`FILE` (YAML) of webhooks to POST job and task events to, each signed with its own secret " +
		"(see scheduler/README.md#events-out); none by default"}
}

// mountTemplatesAndEvents serves stored templates (/v1/templates) and the
// event stream (/v1/events) beside the job API, and runs, for as long as
// ctx, the event detector (every node: a standby that becomes leader has a
// current baseline) and the webhook dispatcher (sending only while n leads).
func mountTemplatesAndEvents(ctx context.Context, cli *clientv3.Client, n *node.Node, ac *api.Config, hooks []events.Webhook, log *slog.Logger) {
	tpl := templates.Handler(templates.HandlerConfig{Store: templates.NewEtcd(cli, n.Attrs().Prefix(), templates.Limits{}), Backend: n, Log: log})
	ac.Mount["/v1/templates"], ac.Mount["/v1/templates/"] = tpl, tpl
	evlog := events.NewLog(0)
	ac.Mount["/v1/events"] = events.Handler(evlog, ac.Timeouts.Write)
	det := events.NewDetector(events.DetectorConfig{Store: n.Store(), Log: evlog, Logger: log})
	ac.Statuses = det // watches read the statuses it derives, not each its job's records
	go func() { _ = det.Run(ctx) }()
	if len(hooks) > 0 {
		d := events.NewDispatcher(events.DispatcherConfig{Hooks: hooks, IsLeader: n.IsLeader, Logger: log})
		go func() { _ = d.Run(ctx, evlog, 0) }()
		log.Info("webhooks configured", "count", len(hooks))
	}
}
