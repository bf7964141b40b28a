package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gleaner-project/gleaner/scheduler/apikeys"
)

// chromium finds a Chromium (or Chrome) binary.
func chromium() (string, bool) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// browser is one headless Chromium tab and where its screenshots go.
type browser struct {
	t    *testing.T
	ctx  context.Context
	shot string
	base string
}

func newBrowser(t *testing.T, path, base string) *browser {
	t.Helper()
	dir := os.Getenv("GLEANER_UI_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1360, 900),
		chromedp.NoSandbox, chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, shot: dir, base: base}
	// The first action starts the browser, which lives as long as the
	// context it ran on: b.ctx, not a deadline of one step.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Logf("screenshots in %s", dir)
	return b
}

// do runs actions with a deadline, failing the test with what was tried.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.doWithin(what, 45*time.Second, actions...)
}

func (b *browser) doWithin(what string, limit time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shotAs("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// click clicks an element of a part the page redraws when its poll
// brings a change (the DAG, the instances): if that element is replaced
// between being found and being clicked, it clicks the new one.
func (b *browser) click(what, selector string) {
	b.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		ctx, cancel := context.WithDeadline(b.ctx, deadline)
		err := chromedp.Do(ctx, chromedp.Click(selector))
		cancel()
		if err == nil {
			return
		}
		if !nodeReplaced(err) || time.Now().After(deadline) {
			b.shotAs("failed-" + strings.ReplaceAll(what, " ", "-"))
			b.t.Fatalf("%s: %v", what, err)
		}
	}
}

// nodeReplaced reports whether the DevTools protocol refused a node id
// because the page removed that node.
func nodeReplaced(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Could not find node with given id") || strings.Contains(s, "No node with given id") || strings.Contains(s, "Node is detached")
}

// wait polls a JavaScript expression until it is truthy.
func (b *browser) wait(what, expr string, limit time.Duration) {
	b.t.Helper()
	b.doWithin("wait for "+what, limit+10*time.Second, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(100*time.Millisecond)))
}

// eval returns a JavaScript expression's value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) shotAs(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// signIn answers the token prompt.
func (b *browser) signIn(token string) {
	b.t.Helper()
	b.do("sign in", chromedp.Navigate(b.base+"/ui/#/jobs"), chromedp.WaitVisible("#token"),
		chromedp.SetValue("#token", token), chromedp.Click("#login-submit"))
}

// js quotes s as a JavaScript string.
func js(s string) string { return strconv.Quote(s) }

const dagSpec = `name: ui-dag
labels: {team: web}
tasks:
  - name: prepare
    command: "echo prepared"
  - name: work
    depends: [prepare]
    instances: 3
    command: "echo hello from $GLEANER_INDEX; echo to-stderr >&2"
  - name: report
    depends: "work.succeeded"
    command: "echo report"
`

// tolerantSpec has a per-index tolerant task with one failed index
// (shard), a task skipped because shard did not fail (cleanup), and a task
// waiting out a long backoff before its retry (flaky).
const tolerantSpec = `name: ui-tolerant
tasks:
  - name: shard
    instances: 4
    command: 'test "$GLEANER_INDEX" != 2'
    backoffLimitPerIndex: 0
    maxFailedIndexes: 1
  - name: cleanup
    depends: "shard.failed"
    command: "true"
  - name: flaky
    command: "exit 1"
    retries: {limit: 1, backoff: {delay: 10m, factor: 1, max: 10m}}
`

func TestWebUI(t *testing.T) {
	path, ok := chromium()
	if !ok {
		t.Skip("no chromium binary found (Debian package chromium; deploy/install-deps.sh installs it)")
	}
	if testing.Short() {
		t.Skip("starts gleaner dev and a browser")
	}
	s := startDev(t, buildGleaner(t))
	reader := s.readOnlyToken(t)
	b := newBrowser(t, path, s.url)

	t.Run("refused without a valid token", func(t *testing.T) {
		b.t = t
		b.do("open the UI", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible("#login"))
		if u := eval[string](b, `location.pathname`); u != "/ui/" {
			t.Fatalf("/ redirected to %q, want /ui/", u)
		}
		code := eval[int](b, `fetch("/v1/jobs").then(r => r.status)`)
		if code != 401 {
			t.Fatalf("the API without a token answered %d", code)
		}
		b.signIn("not-a-token")
		b.wait("the refusal", `document.querySelector("#login-error").textContent.includes("Token refused")`, 10*time.Second)
		if eval[bool](b, `!!document.querySelector("#jobs")`) {
			t.Fatal("the job list is shown without a valid token")
		}
		b.shotAs("01-login-refused")
	})

	var jobID string
	t.Run("submit shows the field of an invalid spec", func(t *testing.T) {
		b.t = t
		b.signIn(s.admin)
		b.wait("the job list", `document.querySelector("#jobs") && document.querySelector("#who").textContent.includes("admin")`, 10*time.Second)
		bad := strings.Replace(dagSpec, "instances: 3", "instances: -3", 1)
		b.do("submit an invalid spec", chromedp.Click("#new-job"), chromedp.WaitVisible("#spec"), chromedp.SetValue("#spec", bad), chromedp.Click("#submit-spec"))
		b.wait("the field error", `!document.querySelector("#spec-error").hidden`, 10*time.Second)
		field := eval[string](b, `document.querySelector("#spec-error .field").textContent`)
		line := eval[string](b, `(document.querySelector("#spec-view .err-line") || {}).textContent || ""`)
		if field != "tasks[1].instances" || !strings.Contains(line, "instances: -3") || !eval[bool](b, `document.querySelector("#spec").classList.contains("invalid")`) {
			t.Fatalf("field %q, highlighted line %q", field, line)
		}
		b.shotAs("02-submit-invalid")
	})

	t.Run("submit a job and watch it succeed", func(t *testing.T) {
		b.t = t
		b.do("submit", chromedp.SetValue("#spec", dagSpec), chromedp.Click("#submit-spec"))
		b.wait("the job page", `location.hash.startsWith("#/jobs/ui-dag")`, 15*time.Second)
		jobID = strings.TrimPrefix(eval[string](b, `decodeURIComponent(location.hash)`), "#/jobs/")
		b.wait("the DAG", `document.querySelectorAll("#dag svg .node").length === 3`, 15*time.Second)
		b.wait("the job to succeed", `(document.querySelector(".title .badge") || {}).textContent === "succeeded"`, 90*time.Second)
		edges := eval[[]string](b, `[...document.querySelectorAll("#dag .edge")].map(e => e.dataset.from + ">" + e.dataset.to + ":" + e.textContent)`)
		if strings.Join(edges, " ") != "prepare>work: work>report:succeeded" {
			t.Fatalf("edges %v", edges)
		}
		b.shotAs("03-job-succeeded")
		// A focused node keeps the focus from one poll to the next: the
		// graph is redrawn only when it changed. (The info line is
		// rewritten on every poll, so its mark going shows a poll passed.)
		eval[bool](b, `(document.querySelector('#dag .node[data-task="report"]').focus(), document.querySelector("#job-info").firstElementChild.dataset.seen = "1", true)`)
		b.wait("a poll", `!document.querySelector("#job-info [data-seen]")`, 10*time.Second)
		if !eval[bool](b, `document.activeElement === document.querySelector('#dag .node[data-task="report"]')`) {
			t.Fatalf("a poll took the keyboard focus from the graph's node: the active element is %s", eval[string](b, `document.activeElement.outerHTML.slice(0, 80)`))
		}
	})

	t.Run("open a log", func(t *testing.T) {
		b.t = t
		b.click("select task work", `#dag .node[data-task="work"]`)
		b.wait("work's instances", `document.querySelector("#task-name").textContent === "work" && document.querySelectorAll("#instances tr.inst").length === 3`, 10*time.Second)
		b.click("open instance 1's log", `#instances tr[data-index="1"] .log-open`)
		b.wait("stdout", `(document.querySelector("#log") || {}).textContent?.includes("hello from 1")`, 20*time.Second)
		b.do("switch to stderr", chromedp.Click(`#logbox .tab[data-stream="stderr"]`))
		b.wait("stderr", `(document.querySelector("#log") || {}).textContent?.includes("to-stderr")`, 20*time.Second)
		b.shotAs("04-job-log")
	})

	t.Run("a job pending with its reason", func(t *testing.T) {
		b.t = t
		var out struct{ ID string }
		code, err := s.call("POST", "/v1/jobs", s.admin, "name: ui-too-big\ntasks: [{name: huge, command: 'true', resources: {cpus: 64, mem: 64}}]", &out)
		if err != nil || code != 201 {
			t.Fatalf("submit: %d %v", code, err)
		}
		b.do("open it", chromedp.Navigate(s.url+"/ui/#/jobs/"+out.ID))
		b.wait("why pending", `!document.querySelector("#why").hidden && document.querySelector("#why").textContent.includes("cpu")`, 30*time.Second)
		t.Logf("why: %s", eval[string](b, `document.querySelector("#why").textContent`))
		b.shotAs("05-job-pending")
		// The first click arms the kill; the arming outlasts the poll
		// that redraws the header (the info line's mark going shows it).
		b.click("kill it", `.title button[data-action="kill"]`)
		eval[bool](b, `(document.querySelector("#job-info").firstElementChild.dataset.seen = "1", true)`)
		b.wait("a poll", `!document.querySelector("#job-info [data-seen]")`, 10*time.Second)
		if got := eval[string](b, `document.querySelector('.title button[data-action="kill"]').textContent`); got != "confirm kill" {
			t.Fatalf("after a poll the kill button reads %q, want %q", got, "confirm kill")
		}
		b.click("confirm the kill", `.title button[data-action="kill"]`)
		b.wait("killed", `(document.querySelector(".title .badge") || {}).textContent === "killed"`, 30*time.Second)
	})

	t.Run("retrying, skipped and failed indexes", func(t *testing.T) {
		b.t = t
		var out struct{ ID string }
		code, err := s.call("POST", "/v1/jobs", s.admin, tolerantSpec, &out)
		if err != nil || code != 201 {
			t.Fatalf("submit: %d %v", code, err)
		}
		b.do("open it", chromedp.Navigate(s.url+"/ui/#/jobs/"+out.ID))
		b.wait("the DAG", `document.querySelectorAll("#dag svg .node").length === 3`, 15*time.Second)
		// shard: index 2 failed, tolerated (maxFailedIndexes 1): it succeeds
		// with its failed index listed; cleanup (on shard.failed) is skipped.
		b.wait("shard succeeded", `(document.querySelector('#dag .node[data-task="shard"]') || {}).classList?.contains("s-succeeded")`, 60*time.Second)
		b.click("select shard", `#dag .node[data-task="shard"]`)
		b.wait("shard's failed indexes", `document.querySelector("#task-name").textContent === "shard" && !!document.querySelector("#failed-indexes")`, 10*time.Second)
		if got := eval[string](b, `document.querySelector("#failed-indexes").textContent`); got != "failed indexes: 2 (at most 1 tolerated)" {
			t.Fatalf("failed indexes line %q", got)
		}
		b.wait("cleanup skipped", `(document.querySelector('#dag .node[data-task="cleanup"]') || {}).classList?.contains("s-skipped")`, 30*time.Second)
		b.click("select cleanup", `#dag .node[data-task="cleanup"]`)
		b.wait("cleanup's skipped count", `document.querySelector("#task-name").textContent === "cleanup" && document.querySelector("#task-counts").textContent.includes("1 skipped")`, 10*time.Second)
		if eval[bool](b, `document.querySelector("#task-counts").textContent.includes("1 pending")`) {
			t.Fatalf("a skipped instance counted as pending: %s", eval[string](b, `document.querySelector("#task-counts").textContent`))
		}
		// flaky: its first attempt failed; it waits out a 10-minute backoff.
		b.click("select flaky", `#dag .node[data-task="flaky"]`)
		b.wait("flaky retrying", `document.querySelector("#task-name").textContent === "flaky" && document.querySelector("#task-counts").textContent.includes("1 retrying")`, 60*time.Second)
		if !eval[bool](b, `document.querySelector('#dag .node[data-task="flaky"] .node-sub').textContent.includes("1 retrying")`) {
			t.Fatalf("the DAG node does not show the retrying instance: %s", eval[string](b, `document.querySelector('#dag .node[data-task="flaky"]').textContent`))
		}
		if st := eval[string](b, `document.querySelector(".title .badge").textContent`); st != "running" {
			t.Fatalf("a retrying job reads %q, want running", st)
		}
		b.shotAs("05b-retrying-skipped-failed-indexes")
		b.do("open the job list", chromedp.Navigate(s.url+"/ui/#/jobs"))
		row := `#jobs tr.job-row[data-job=` + js(out.ID) + `]`
		b.wait("the list's counts", `(document.querySelector(`+js(row)+`) || {}).textContent?.includes("1 retrying, 1 skipped")`, 15*time.Second)
		if code, err := s.call("DELETE", "/v1/jobs/"+out.ID, s.admin, nil, nil); err != nil || code != 202 {
			t.Fatalf("kill: %d %v", code, err)
		}
	})

	t.Run("edit an agent attribute", func(t *testing.T) {
		b.t = t
		b.do("open agents", chromedp.Navigate(s.url+"/ui/#/agents"))
		b.wait("agents", `document.querySelectorAll("#agents tr[data-host]").length === 2`, 15*time.Second)
		host := eval[string](b, `document.querySelector("#agents tr[data-host]").dataset.host`)
		row := `#agents tr[data-host=` + js(host) + `]`
		b.click("edit", row+" .attr-edit")
		b.do("fill in and save", chromedp.WaitVisible(row+" .attr-key"),
			chromedp.SetValue(row+" .attr-key", "ui-zone"), chromedp.SetValue(row+" .attr-value", "blue"), chromedp.Click(row+" .attr-save"))
		b.wait("the new attribute", `[...document.querySelectorAll(`+js(row+" .chip")+`)].some(c => c.textContent.startsWith("ui-zone=blue"))`, 15*time.Second)
		var got struct{ Attributes map[string]string }
		if code, err := s.call("GET", "/v1/agents/"+host+"/attributes", s.admin, nil, &got); err != nil || code != 200 || got.Attributes["ui-zone"] != "blue" {
			t.Fatalf("etcd attributes of %s: %d %v %v", host, code, err, got)
		}
		b.click("history", row+" .attr-history")
		b.wait("the change in the history", `(document.querySelector(`+js(row+" .history")+`) || {}).textContent?.includes("ui-zone")`, 10*time.Second)
		b.shotAs("06-agents")
	})

	t.Run("harvest", func(t *testing.T) {
		b.t = t
		b.do("open harvest", chromedp.Navigate(s.url+"/ui/#/harvest"))
		// The scheduler samples the heartbeats every 15 s; the page every 10 s.
		b.wait("hosts in the harvest", `document.querySelectorAll("#harvest-hosts tr[data-host]").length === 2 && document.querySelectorAll("#cluster-chart path.line").length > 0`, 45*time.Second)
		b.shotAs("07-harvest")
	})

	// One JSON key style: every answer of the API, with jobs, agents and
	// harvest points in it, has camelCase keys (names that are data, such
	// as attributes, labels and environment variables, excepted).
	t.Run("every API answer is camelCase", func(t *testing.T) {
		var agents struct{ Agents []struct{ Hostname string } }
		if code, err := s.call("GET", "/v1/agents", s.admin, nil, &agents); err != nil || code != 200 || len(agents.Agents) == 0 {
			t.Fatalf("agents: %d %v", code, err)
		}
		host := agents.Agents[0].Hostname
		data := map[string]bool{"attributes": true, "mesosAttributes": true, "etcdAttributes": true, "old": true, "new": true,
			"labels": true, "env": true, "outputs": true, "parameters": true, "arguments": true}
		for _, path := range []string{
			"/healthz", "/v1/whoami", "/v1/jobs", "/v1/jobs?state=killed", "/v1/jobs/" + jobID, "/v1/jobs/" + jobID + "/spec",
			"/v1/jobs/" + jobID + "/instances", "/v1/jobs/" + jobID + "/tasks/work/instances/1",
			"/v1/agents", "/v1/agents/" + host, "/v1/agents/" + host + "/attributes", "/v1/agents/" + host + "/attributes/history",
			"/v1/harvest", "/v1/tokens", "/v1/templates", "/v1/schema",
			"/v1/jobs/no-such-job", "/v1/agents?keys=kebab",
		} {
			var raw json.RawMessage
			code, err := s.call("GET", path, s.admin, nil, &raw)
			if err != nil || code >= 500 || len(raw) == 0 {
				t.Errorf("GET %s: %d %v %s", path, code, err, raw)
				continue
			}
			bad, err := apikeys.SnakeKeys(raw, data)
			if err != nil || len(bad) != 0 {
				t.Errorf("GET %s: keys not camelCase: %v %v", path, bad, err)
			}
		}
	})

	t.Run("read-only token shows no actions", func(t *testing.T) {
		b.t = t
		b.do("sign out", chromedp.Click("#signout"), chromedp.WaitVisible("#login"))
		b.signIn(reader)
		b.wait("the job list", `document.querySelectorAll("#jobs tr.job-row").length >= 2 && document.querySelector("#who").textContent.includes("read-only")`, 15*time.Second)
		if n := eval[int](b, `document.querySelectorAll("button.action, #new-job").length`); n != 0 {
			t.Fatalf("%d action buttons for a read-only token", n)
		}
		b.shotAs("08-jobs-read-only")
		b.do("open the job", chromedp.Navigate(s.url+"/ui/#/jobs/"+jobID))
		b.wait("the job", `document.querySelectorAll("#instances tr.inst").length > 0`, 15*time.Second)
		if n := eval[int](b, `document.querySelectorAll("button.action").length`); n != 0 {
			t.Fatalf("%d action buttons on the job page", n)
		}
		b.do("open agents", chromedp.Navigate(s.url+"/ui/#/agents"))
		b.wait("agents", `document.querySelectorAll("#agents tr[data-host]").length === 2`, 15*time.Second)
		if n := eval[int](b, `document.querySelectorAll("button.action, .attr-edit").length`); n != 0 {
			t.Fatalf("%d edit buttons on the agents page", n)
		}
		code := eval[int](b, fmt.Sprintf(`fetch("/v1/jobs/%s/retry", {method: "POST", headers: {Authorization: "Bearer " + sessionStorage.getItem("gleaner.token")}}).then(r => r.status)`, jobID))
		if code != 403 {
			t.Fatalf("a write with the read-only token answered %d", code)
		}
	})
}
