package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/monitor"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// devMonitors runs one monitor per local agent of `gleaner dev`, so each
// agent has a heartbeat (GET /v1/agents) and a reservation for the role.
// The agents share this host: each monitor's capacity is the host's split
// evenly, but at least what the agent declares (resources, "cpus:4;mem:4096"),
// since a small machine split three ways would leave batch no room at all
// (and a live monitor means reservation-only offers). Business load is the
// whole host's for every monitor. Only the first monitor measures the executor's batch
// cgroup parent (gleaner) and throttles it (when cgroups are writable);
// the others measure a parent of their own, so the one batch cgroup is
// neither counted nor capped several times. It returns a function that
// waits for them to stop after ctx ends.
func devMonitors(ctx context.Context, cluster *localmesos.Cluster, cli *clientv3.Client, role string, w io.Writer, log *slog.Logger) (wait func(), err error) {
	agents := cluster.Agents()
	n := float64(len(agents))
	memMB, err := hostMemMB()
	if err != nil {
		return nil, fmt.Errorf("dev monitors: %w", err)
	}
	shareCPUs, shareMem := float64(runtime.NumCPU())/n, memMB/n
	var ms []*monitor.Monitor
	for i, a := range agents {
		declared := scalarResources(a.Resources()) // each agent's own (gleaner dev --agent)
		capCPUs, capMem := max(shareCPUs, declared["cpus"]), max(shareMem, declared["mem"])
		cfg := monitor.Config{MasterURL: cluster.MasterURL(), AgentHostname: a.Hostname(), Role: role, Etcd: cli,
			Listen: "127.0.0.1:0", CapacityCPUs: capCPUs, CapacityMemMB: capMem,
			CgroupParent: "gleaner", Logger: log}
		if i > 0 {
			cfg.CgroupParent, cfg.NoThrottle = fmt.Sprintf("gleaner-dev-%d", i), true
		}
		m, err := monitor.New(cfg)
		if err != nil && !cfg.NoThrottle {
			log.Info("monitor without cgroup throttling", "agent", a.Hostname(), "why", err)
			cfg.NoThrottle = true
			m, err = monitor.New(cfg)
		}
		if err != nil {
			return nil, fmt.Errorf("dev monitor for %s: %w", a.Hostname(), err)
		}
		ms = append(ms, m)
	}
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.Run(ctx); err != nil {
				log.Error("monitor stopped", "agent", agents[i].Hostname(), "err", err)
			}
		}()
		fmt.Fprintf(w, "monitor: http://%s/metrics (%s)\n", m.Addr(), agents[i].Hostname())
	}
	return wg.Wait, nil
}

// hostMemMB reads MemTotal from /proc/meminfo.
func hostMemMB() (float64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read host memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, err := strconv.ParseFloat(fs[1], 64)
			if err != nil {
				return 0, fmt.Errorf("read host memory: MemTotal: %w", err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("read host memory: no MemTotal in /proc/meminfo")
}

// scalarResources reads "name:value;..." scalars (ranges and sets are skipped).
func scalarResources(s string) map[string]float64 {
	out := map[string]float64{}
	for _, part := range strings.Split(s, ";") {
		name, val, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[strings.TrimSpace(name)] = f
		}
	}
	return out
}
