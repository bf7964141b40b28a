package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Series Prometheus makes itself for every target; no exporter serves them.
var prometheusMadeSeries = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}

// A running `gleaner dev` (scheduler, local Mesos, a monitor beside the
// agent), after a job with a failing task ran and while another waits for
// CPUs no agent has, serves every metric that deploy/grafana/gleaner.json
// and deploy/prometheus/alerts.yml name; the monitor serves its own metrics
// and the process's (process_*, go_*); the scheduler's /metrics wants a token.
func TestMetricsNamedInDashboardAndAlertsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gleaner dev")
	}
	execNeedRoot(t)
	_, file, _, _ := runtime.Caller(0)
	deploy := filepath.Join(filepath.Dir(file), "..", "..", "deploy")
	dashboard := dashboardMetricNames(t, filepath.Join(deploy, "grafana", "gleaner.json"))
	alerts := alertMetricNames(t, filepath.Join(deploy, "prometheus", "alerts.yml"))
	if len(dashboard) < 20 || len(alerts) < 8 {
		t.Fatalf("read %d metric names from the dashboard, %d from the alerts: the parsing is broken", len(dashboard), len(alerts))
	}

	start := time.Now()
	url, token, monitors := startDev(t)
	t.Logf("gleaner dev leads after %v", time.Since(start).Round(time.Millisecond))
	if len(monitors) == 0 {
		t.Fatal("gleaner dev printed no monitor metrics address")
	}
	code, e, failedID := postSpec(t, url, token, `
name: metrics-mixed
tasks:
  - name: ok
    command: "true"
    instances: 2
    resources: {cpus: 0.1, mem: 32}
  - name: bad
    command: "exit 3"
    retries: 0
    resources: {cpus: 0.1, mem: 32}
`)
	if code != http.StatusCreated {
		t.Fatalf("submit: %d %+v", code, e)
	}
	// Pending for good: no local agent has 64 CPUs.
	if code, e, _ := postSpec(t, url, token, "name: metrics-waits\ntasks: [{name: big, command: 'true', resources: {cpus: 64, mem: 32}}]\n"); code != http.StatusCreated {
		t.Fatalf("submit: %d %+v", code, e)
	}
	var st job.Status
	waitFor(t, "the mixed job to end", 180*time.Second, func() bool {
		resp, err := apiDo("GET", url+"/v1/jobs/"+failedID, token, nil)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&st) == nil && st.State.Terminal()
	})
	if st.State != job.Failed {
		t.Fatalf("mixed job ended %s, want failed (one task exits 3)", st.State)
	}
	t.Logf("job ended after %v", time.Since(start).Round(time.Millisecond))

	if resp, err := apiDo("GET", url+"/metrics", "", nil); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token: %d, want 401", resp.StatusCode)
	}

	// The state metrics are reread every 15 s: wait until the scrape has
	// every name, then report the missing ones if it never does.
	var sched, mon map[string]bool
	var missing []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		sched = scrapeNames(t, url+"/metrics", token)
		mon = scrapeNames(t, monitors[0], "")
		missing = missingNames(sched, mon, dashboard, alerts)
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if len(missing) > 0 {
		t.Errorf("named in the dashboard or alerts but in neither scrape: %s", strings.Join(missing, ", "))
	}
	for _, name := range []string{"process_resident_memory_bytes", "go_goroutines", "gleaner_monitor_batch_cpus", "gleaner_monitor_last_sample_timestamp_seconds"} {
		if !mon[name] {
			t.Errorf("the monitor's scrape has no %s", name)
		}
	}
	for _, name := range []string{"gleaner_leader", "gleaner_jobs", "gleaner_instances", "gleaner_attempt_failures", "gleaner_api_requests_total", "gleaner_etcd_grpc_client_handling_seconds_bucket"} {
		if !sched[name] {
			t.Errorf("the scheduler's scrape has no %s", name)
		}
	}
	t.Logf("%d names in the dashboard, %d in the alerts; scheduler scrape %d names, monitor %d; %v", len(dashboard), len(alerts), len(sched), len(mon), time.Since(start).Round(time.Millisecond))
}

// startDev runs `gleaner dev` with one agent and its monitor until the test
// ends, and returns the API URL, the admin token and the monitors' metrics URLs.
func startDev(t *testing.T) (string, string, []string) {
	t.Helper()
	bin := execGleanerBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dev := exec.Command(bin, "dev", "--listen", addr, "--data-dir", openDir(t), "--agents", "1")
	dev.Env = append(os.Environ(), "XDG_CONFIG_HOME="+openDir(t))
	var log lockedBuffer
	dev.Stdout, dev.Stderr = &log, &log
	dev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	// exited closes when the process has ended (waitErr then holds why), so
	// the start-up wait and the cleanup can both observe it.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = dev.Wait(); close(exited) }()
	t.Cleanup(func() {
		dev.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			syscall.Kill(-dev.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("gleaner dev output:\n%s", log.String())
		}
	})
	url := "http://" + addr
	var token string
	var monitors []string
	waitFor(t, "gleaner dev to lead", 120*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("gleaner dev exited: %v\n%s", waitErr, log.String())
		default:
		}
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		token, monitors = "", nil
		for _, line := range strings.Split(log.String(), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) > 1 && f[0] == "token:":
				token = f[1]
			case len(f) > 1 && f[0] == "monitor:":
				monitors = append(monitors, f[1])
			}
		}
		var h struct{ Leader, Subscribed bool }
		return json.NewDecoder(resp.Body).Decode(&h) == nil && h.Leader && h.Subscribed && token != "" && len(monitors) > 0
	})
	return url, token, monitors
}

// scrapeNames reads a Prometheus text scrape and returns the series names
// in it (histograms as their _bucket, _sum and _count series).
func scrapeNames(t *testing.T, url, token string) map[string]bool {
	t.Helper()
	resp, err := apiDo("GET", url, token, nil)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape %s: %d %s", url, resp.StatusCode, b)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return names
}

// metricNames returns the metric names the PromQL expression selects.
func metricNames(expr string) ([]string, error) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name != "" {
				names = append(names, vs.Name)
				return nil
			}
			for _, m := range vs.LabelMatchers {
				if m.Name == "__name__" {
					names = append(names, m.Value)
				}
			}
		}
		return nil
	})
	return names, nil
}

// dashboardMetricNames reads every panel target's expression.
func dashboardMetricNames(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string][]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			names, err := metricNames(tg.Expr)
			if err != nil {
				t.Fatalf("%s: panel %q: %q: %v", path, p.Title, tg.Expr, err)
			}
			for _, n := range names {
				out[n] = append(out[n], "dashboard panel "+p.Title)
			}
		}
	}
	return out
}

// alertMetricNames reads every rule's expression; names of recording rules
// are left out (Prometheus makes those series).
func alertMetricNames(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert  string `json:"alert"`
				Record string `json:"record"`
				Expr   string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	recorded := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	out := map[string][]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			names, err := metricNames(r.Expr)
			if err != nil {
				t.Fatalf("%s: rule %s%s: %v", path, r.Alert, r.Record, err)
			}
			for _, n := range names {
				if !recorded[n] {
					out[n] = append(out[n], fmt.Sprintf("rule %s%s", r.Alert, r.Record))
				}
			}
		}
	}
	return out
}

// missingNames lists the names used by the dashboard or alerts found in
// neither scrape, with where each is used.
func missingNames(sched, mon map[string]bool, used ...map[string][]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range used {
		for name, where := range u {
			if seen[name] || sched[name] || mon[name] || prometheusMadeSeries[name] {
				continue
			}
			seen[name] = true
			out = append(out, fmt.Sprintf("%s (%s)", name, where[0]))
		}
	}
	sort.Strings(out)
	return out
}

// The names come out of the PromQL as Prometheus reads it: selectors inside
// functions, aggregations, binary operations and subqueries, __name__
// matchers; never label names, function names or strings.
func TestMetricNamesFromPromQL(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`gleaner_leader`, "gleaner_leader"},
		{`sum by (state) (rate(gleaner_status_updates_total{job="x", state=~"a|b"}[5m]))`, "gleaner_status_updates_total"},
		{`histogram_quantile(0.99, sum by (le) (rate(a_bucket[5m]))) > 0.5 and on () b == 1`, "a_bucket b"},
		{`time() - c offset 15m or up{job="m"} == 0`, "c up"},
		{`{__name__="d", job="x"}`, "d"},
		{`max_over_time(sum(e)[15m:1m])`, "e"},
		{`vector(1)`, ""},
	} {
		names, err := metricNames(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		sort.Strings(names)
		if got := strings.Join(names, " "); got != c.want {
			t.Errorf("%s: names %q, want %q", c.expr, got, c.want)
		}
	}
	if _, err := metricNames(`sum(rate(x[5m])`); err == nil {
		t.Error("an unbalanced expression parsed")
	}
}
