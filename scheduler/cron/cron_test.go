package cron

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/retry"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

func mustCompile(t *testing.T, s Schedule) *Compiled {
	t.Helper()
	c, err := s.Compile("schedule")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ids(rs []Run) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		s     Schedule
		field string
	}{
		{Schedule{}, "schedule.cron"},
		{Schedule{Cron: "61 * * * *"}, "schedule.cron"},
		{Schedule{Cron: "* * * *"}, "schedule.cron"},
		{Schedule{Cron: "CRON_TZ=Asia/Tokyo 0 * * * *"}, "schedule.cron"},
		{Schedule{Cron: "@hourly", Timezone: "Mars/Olympus"}, "schedule.timezone"},
		{Schedule{Cron: "@hourly", Concurrency: "Sometimes"}, "schedule.concurrency"},
		{Schedule{Cron: "@hourly", StartingDeadline: -1}, "schedule.startingDeadline"},
	} {
		_, err := c.s.Compile("schedule")
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != c.field {
			t.Errorf("Compile(%+v) = %v, want field %s", c.s, err, c.field)
		}
	}
	c := mustCompile(t, Schedule{Cron: "@every 90s"})
	if c.Concurrency != Allow {
		t.Errorf("default concurrency %q", c.Concurrency)
	}
}

func TestEvaluate(t *testing.T) {
	hourly := Schedule{Cron: "0 * * * *", StartingDeadline: retry.Duration(30 * time.Minute)}
	last := at("2026-03-01T09:00:00Z")
	r10 := Run{ID: RunID("etl", at("2026-03-01T10:00:00Z")), Scheduled: at("2026-03-01T10:00:00Z")}
	for _, c := range []struct {
		name      string
		conc      Concurrency
		deadline  time.Duration
		now       time.Time
		active    []Run
		create    []string
		kill      []string
		missed    int
		coalesced int
		recorded  time.Time
	}{
		{name: "not yet due", now: at("2026-03-01T09:59:59Z"), recorded: last},
		{name: "due exactly now", now: at("2026-03-01T10:00:00Z"), create: []string{"etl-1772359200"}, recorded: at("2026-03-01T10:00:00Z")},
		{name: "due within deadline", now: at("2026-03-01T10:29:00Z"), create: []string{"etl-1772359200"}, recorded: at("2026-03-01T10:00:00Z")},
		{name: "beyond deadline missed", now: at("2026-03-01T10:31:00Z"), missed: 1, recorded: at("2026-03-01T10:00:00Z")},
		{name: "outage: old missed, latest created", now: at("2026-03-01T14:10:00Z"), missed: 4,
			create: []string{"etl-1772373600"}, recorded: at("2026-03-01T14:00:00Z")},
		{name: "no deadline catches up (Allow)", deadline: -1, now: at("2026-03-01T12:10:00Z"),
			create: []string{"etl-1772359200", "etl-1772362800", "etl-1772366400"}, recorded: at("2026-03-01T12:00:00Z")},
		{name: "no deadline, long outage: at most MaxCatchUp", deadline: -1, now: at("2026-03-02T09:00:00Z"),
			coalesced: 24 - MaxCatchUp, recorded: at("2026-03-02T09:00:00Z")},
		{name: "Forbid with an active run waits", conc: Forbid, now: at("2026-03-01T11:05:00Z"), active: []Run{r10},
			missed: 1, recorded: at("2026-03-01T10:00:00Z")},
		{name: "Forbid, missed before the active wait", conc: Forbid, now: at("2026-03-01T12:05:00Z"), active: []Run{r10},
			missed: 2, recorded: at("2026-03-01T11:00:00Z")},
		{name: "Forbid, none active: latest only", conc: Forbid, deadline: -1, now: at("2026-03-01T12:05:00Z"),
			create: []string{"etl-1772366400"}, coalesced: 2, recorded: at("2026-03-01T12:00:00Z")},
		{name: "Replace kills the active run", conc: Replace, now: at("2026-03-01T11:05:00Z"), active: []Run{r10},
			create: []string{"etl-1772362800"}, kill: []string{r10.ID}, missed: 1, recorded: at("2026-03-01T11:00:00Z")},
		{name: "Allow overlaps", conc: Allow, now: at("2026-03-01T11:05:00Z"), active: []Run{r10},
			create: []string{"etl-1772362800"}, missed: 1, recorded: at("2026-03-01T11:00:00Z")},
	} {
		s := hourly
		if c.conc != "" {
			s.Concurrency = c.conc
		}
		if c.deadline < 0 {
			s.StartingDeadline = 0
		}
		p := mustCompile(t, s).Evaluate("etl", last, c.now, c.active)
		if c.name == "no deadline, long outage: at most MaxCatchUp" {
			if len(p.Create) != MaxCatchUp || p.Create[MaxCatchUp-1].Scheduled != at("2026-03-02T09:00:00Z") {
				t.Errorf("%s: created %v", c.name, ids(p.Create))
			}
			c.create = ids(p.Create)
		}
		if !slices.Equal(ids(p.Create), c.create) || !slices.Equal(p.Kill, c.kill) || p.Missed != c.missed ||
			p.Coalesced != c.coalesced || !p.LastScheduled.Equal(c.recorded) {
			t.Errorf("%s: got create %v kill %v missed %d coalesced %d recorded %v; want %v %v %d %d %v", c.name,
				ids(p.Create), p.Kill, p.Missed, p.Coalesced, p.LastScheduled, c.create, c.kill, c.missed, c.coalesced, c.recorded)
		}
		if !p.NextWake.After(c.now) && !(c.conc == Forbid && len(c.active) > 0) {
			t.Errorf("%s: next wake %v not after now", c.name, p.NextWake)
		}
	}
}

// Forbid: the due run is created once the active run ended, if still
// within the deadline; the recorded time makes the second evaluation see
// it again.
func TestForbidThenCreate(t *testing.T) {
	c := mustCompile(t, Schedule{Cron: "0 * * * *", Concurrency: Forbid, StartingDeadline: retry.Duration(20 * time.Minute)})
	last := at("2026-03-01T10:00:00Z")
	active := []Run{{ID: "etl-1772359200", Scheduled: last}}
	p := c.Evaluate("etl", last, at("2026-03-01T11:00:30Z"), active)
	if len(p.Create) != 0 || !p.LastScheduled.Equal(last) || !p.NextWake.Equal(at("2026-03-01T11:20:00Z")) {
		t.Fatalf("while active: %+v", p)
	}
	p = c.Evaluate("etl", p.LastScheduled, at("2026-03-01T11:10:00Z"), nil)
	if got := ids(p.Create); !slices.Equal(got, []string{"etl-1772362800"}) {
		t.Fatalf("after the active run ended: %v", got)
	}
	p = c.Evaluate("etl", last, at("2026-03-01T11:21:00Z"), nil)
	if len(p.Create) != 0 || p.Missed != 1 {
		t.Fatalf("ended after the deadline: %+v", p)
	}
}

func TestSuspend(t *testing.T) {
	c := mustCompile(t, Schedule{Cron: "*/15 * * * *", Suspend: true})
	p := c.Evaluate("etl", at("2026-03-01T10:00:00Z"), at("2026-03-01T11:00:00Z"), nil)
	if len(p.Create) != 0 || p.Missed != 4 || !p.LastScheduled.Equal(at("2026-03-01T11:00:00Z")) {
		t.Fatalf("suspended: %+v", p)
	}
}

// DST in Europe/Berlin: on 2026-03-29 02:00 CET jumps to 03:00 CEST; on
// 2026-10-25 03:00 CEST falls back to 02:00 CET. A daily 02:30 run happens
// once on each of those days, never twice, and every id is unique.
func TestDST(t *testing.T) {
	c := mustCompile(t, Schedule{Cron: "30 2 * * *", Timezone: "Europe/Berlin"})
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, w := range []struct{ from, to string }{
		{"2026-03-27T12:00:00Z", "2026-03-31T12:00:00Z"},
		{"2026-10-23T12:00:00Z", "2026-10-27T12:00:00Z"},
	} {
		last := at(w.from)
		perDay := map[string]int{}
		seen := map[string]bool{}
		// Evaluate every 10 minutes, as a running leader would.
		for now := at(w.from); !now.After(at(w.to)); now = now.Add(10 * time.Minute) {
			p := c.Evaluate("etl", last, now, nil)
			for _, r := range p.Create {
				if seen[r.ID] {
					t.Fatalf("run %s created twice", r.ID)
				}
				seen[r.ID] = true
				perDay[r.Scheduled.In(berlin).Format("2006-01-02")]++
				if now.Sub(r.Scheduled) > 10*time.Minute {
					t.Errorf("run %s created %v late", r.ID, now.Sub(r.Scheduled))
				}
			}
			last = p.LastScheduled
		}
		if len(perDay) != 4 {
			t.Errorf("%s..%s: runs on %d days, want 4: %v", w.from, w.to, len(perDay), perDay)
		}
		for d, n := range perDay {
			if n != 1 {
				t.Errorf("%s: %d runs", d, n)
			}
		}
	}
	// The run on the spring-forward day: 02:30 does not exist; it must
	// happen that day, at or after 03:00 CEST (01:00Z).
	n := c.Next(at("2026-03-28T12:00:00Z"))
	if n.Before(at("2026-03-29T00:30:00Z")) || n.After(at("2026-03-29T02:00:00Z")) {
		t.Errorf("spring-forward run at %v", n)
	}
	// Fall back: 02:30 happens twice locally; one run, at the first.
	n = c.Next(at("2026-10-24T12:00:00Z"))
	if !n.Equal(at("2026-10-25T00:30:00Z")) {
		t.Errorf("fall-back run at %v, want 2026-10-25T00:30:00Z (02:30 CEST)", n)
	}
	if n2 := c.Next(n); !n2.Equal(at("2026-10-26T01:30:00Z")) {
		t.Errorf("run after fall-back day at %v, want 2026-10-26T01:30:00Z", n2)
	}
}

// etcdSim is the caller's create-if-absent plus the recorded time.
type etcdSim struct {
	runs map[string]time.Time
	last time.Time
}

func (e *etcdSim) create(rs []Run) (created int) {
	for _, r := range rs {
		if _, ok := e.runs[r.ID]; !ok {
			e.runs[r.ID] = r.Scheduled
			created++
		}
	}
	return created
}

// A leader evaluates and creates its runs but dies before recording
// LastScheduled; a new leader evaluates with the same recorded time and
// later clock: no run is doubled, none lost.
func TestFailover(t *testing.T) {
	c := mustCompile(t, Schedule{Cron: "*/5 * * * *", Timezone: "America/New_York", StartingDeadline: retry.Duration(time.Hour)})
	db := &etcdSim{runs: map[string]time.Time{}, last: at("2026-06-01T00:00:00Z")}
	now := at("2026-06-01T00:12:00Z")
	a := c.Evaluate("sync", db.last, now, nil)
	if db.create(a.Create) != 2 {
		t.Fatalf("leader A created %v", ids(a.Create))
	}
	// A dies here: db.last not updated. B takes over a little later.
	b := c.Evaluate("sync", db.last, now, nil)
	if !slices.Equal(ids(a.Create), ids(b.Create)) {
		t.Fatalf("same inputs, different plans: %v vs %v", ids(a.Create), ids(b.Create))
	}
	b = c.Evaluate("sync", db.last, now.Add(4*time.Minute), nil)
	if got := db.create(b.Create); got != 1 {
		t.Fatalf("leader B created %d new runs (%v), want only the 00:15 one", got, ids(b.Create))
	}
	db.last = b.LastScheduled
	want := []string{"sync-1780272300", "sync-1780272600", "sync-1780272900"}
	var got []string
	for id := range db.runs {
		got = append(got, id)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	for _, id := range got {
		ts, ok := ParseRunID("sync", id)
		if !ok || RunID("sync", ts) != id || ts.Minute()%5 != 0 {
			t.Errorf("ParseRunID(%s) = %v, %v", id, ts, ok)
		}
	}
	// Recorded before the creates (the wrong order) would lose a run:
	// document the rule by showing it.
	lost := c.Evaluate("sync", a.LastScheduled, now, nil)
	if len(lost.Create) != 0 {
		t.Fatalf("re-evaluating after recording created %v", ids(lost.Create))
	}
}

func TestTruncatedScan(t *testing.T) {
	c := mustCompile(t, Schedule{Cron: "@every 1m", StartingDeadline: retry.Duration(time.Hour)})
	last := at("2026-01-01T00:00:00Z")
	now := last.Add(100 * 24 * time.Hour) // 144,000 due times
	p := c.Evaluate("x", last, now, nil)
	if !p.Truncated || p.Missed < maxScan || len(p.Create) != MaxCatchUp || !strings.HasPrefix(p.Create[0].ID, "x-") {
		t.Fatalf("truncated: missed %d, truncated %v, created %d", p.Missed, p.Truncated, len(p.Create))
	}
	if last := p.Create[len(p.Create)-1].Scheduled; now.Sub(last) > time.Minute {
		t.Fatalf("latest run %v, now %v", last, now)
	}
}

// An hourly schedule follows real time across DST: 23 runs on the
// spring-forward day, 25 on the fall-back day, one per real hour.
func TestDSTHourly(t *testing.T) {
	c := mustCompile(t, Schedule{Cron: "0 * * * *", Timezone: "Europe/Berlin"})
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for day, want := range map[string]int{"2026-03-29": 23, "2026-10-25": 25, "2026-07-01": 24} {
		start, _ := time.ParseInLocation(time.DateOnly, day, berlin)
		n, prev := 0, start.Add(-time.Second)
		for at := c.Next(prev); at.In(berlin).Format(time.DateOnly) == day; at = c.Next(at) {
			if n > 0 && at.Sub(prev) != time.Hour {
				t.Errorf("%s: %v after %v", day, at, prev)
			}
			n, prev = n+1, at
		}
		if n != want {
			t.Errorf("%s: %d runs, want %d", day, n, want)
		}
	}
}

func TestScheduleInSpec(t *testing.T) {
	s, err := spec.Parse([]byte("name: nightly\nschedule: {cron: '@every 1m', timezone: Europe/Berlin, concurrency: Forbid, startingDeadline: 30s}\ntasks: [{name: a, command: x}]"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromJob(s.Schedule).Compile("schedule")
	if err != nil || c.Concurrency != Forbid || time.Duration(c.StartingDeadline) != 30*time.Second {
		t.Fatalf("compiled %+v, %v", c, err)
	}
	for doc, field := range map[string]string{
		"name: nightly\nschedule: {cron: 'every day'}\ntasks: [{name: a, command: x}]":                 "schedule.cron",
		"name: nightly\nschedule: {cron: '@daily', timezone: Mars}\ntasks: [{name: a, command: x}]":    "schedule.timezone",
		"name: nightly\nschedule: {cron: '@daily', concurrency: Some}\ntasks: [{name: a, command: x}]": "schedule.concurrency",
		"name: nightly\nschedule: {cron: '@daily', every: 1}\ntasks: [{name: a, command: x}]":          "schedule.every",
	} {
		_, err := spec.Parse([]byte(doc))
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != field {
			t.Errorf("%q: %v, want field %s", doc, err, field)
		}
	}
}
