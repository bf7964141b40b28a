package framework

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpmaster"
	"github.com/mesos/mesos-go/api/v1/lib/master"
	mcalls "github.com/mesos/mesos-go/api/v1/lib/master/calls"
)

// pollAgents refreshes the agents table from the subscribed master's
// GET_AGENTS every AgentsPoll while connected: hosts that make no offers
// (all their resources in use) are known too, with their Mesos attributes
// (for constraint moves) and their total size.
func (f *Framework) pollAgents(ctx context.Context) {
	if f.cfg.Agents == nil || f.cfg.AgentsPoll < 0 {
		return
	}
	t := time.NewTicker(f.cfg.AgentsPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !f.Connected() {
			continue
		}
		if err := f.refreshAgents(ctx); err != nil && ctx.Err() == nil {
			f.log.Debug("refresh agents from the master", "err", err)
		}
	}
}

func (f *Framework) refreshAgents(ctx context.Context) error {
	m, _ := f.master.Load().(string)
	if m == "" {
		return nil
	}
	opts := []httpcli.ConfigOpt{httpcli.Timeout(f.cfg.RequestTimeout)}
	if f.cfg.Principal != "" {
		opts = append(opts, httpcli.BasicAuth(f.cfg.Principal, f.cfg.Secret))
	}
	cli := httpcli.New(httpcli.Endpoint(strings.TrimSuffix(m, "/")+"/api/v1"), httpcli.Codec(httpcli.DefaultCodec), httpcli.Do(httpcli.With(opts...)))
	resp, err := httpmaster.NewSender(cli.Send).Send(ctx, mcalls.NonStreaming(mcalls.GetAgents()))
	if err != nil {
		return fmt.Errorf("get agents from %s: %w", m, err)
	}
	defer resp.Close()
	var r master.Response
	if err := resp.Decode(&r); err != nil {
		return fmt.Errorf("decode get agents: %w", err)
	}
	for _, a := range r.GetGetAgents().GetAgents() {
		info := a.GetAgentInfo()
		if info.Hostname == "" {
			continue
		}
		var total placement.Resources
		for _, res := range a.GetTotalResources() {
			total.AddScalar(res.Name, res.GetScalar().GetValue())
		}
		f.cfg.Agents.learn(info.Hostname, info.GetID().GetValue(), attributes(info.Attributes), job.Resources(total))
		f.cfg.Agents.learnEndpoint(info.GetID().GetValue(), pidEndpoint(a.GetPID()))
	}
	return nil
}
