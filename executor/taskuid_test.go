package executor

import (
	"flag"
	"fmt"
	"strings"
	"testing"
)

func TestParseUIDRange(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    UIDRange
		wantErr string
	}{
		{"200000-299999", UIDRange{200000, 299999}, ""},
		{"5000-5000", UIDRange{5000, 5000}, ""},
		{" 1000 - 2000", UIDRange{1000, 2000}, ""},
		{"off", UIDRange{}, ""},
		{"0-99999", UIDRange{}, "at least 1000"},
		{"999-2000", UIDRange{}, "at least 1000"},
		{"3000-2000", UIDRange{}, "LAST is below FIRST"},
		{"1000-4294967295", UIDRange{}, "below 4294967295"},
		{"1000-4294967296", UIDRange{}, "must be uids"},
		{"200000", UIDRange{}, "want FIRST-LAST"},
		{"a-b", UIDRange{}, "must be uids"},
		{"", UIDRange{}, "want FIRST-LAST"},
	} {
		got, err := ParseUIDRange(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), fmt.Sprintf("%q", c.in)) {
				t.Errorf("ParseUIDRange(%q) = %v, %v; want an error naming the value and %q", c.in, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseUIDRange(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// A job's uid is the same on every executor, inside the range, and
// different jobs spread over it.
func TestUIDRangeForJob(t *testing.T) {
	r := UIDRange{200000, 299999}
	if a, b := r.ForJob("job-a"), r.ForJob("job-a"); a != b {
		t.Fatalf("not deterministic: %d, %d", a, b)
	}
	seen := map[uint32]bool{}
	for i := 0; i < 1000; i++ {
		u := r.ForJob(fmt.Sprintf("job-%d", i))
		if u < r.First || u > r.Last {
			t.Fatalf("uid %d outside %v", u, r)
		}
		seen[u] = true
	}
	// 1000 jobs over 100,000 uids: about 5 pairs collide; far more means a poor hash.
	if len(seen) < 980 {
		t.Errorf("1000 jobs got only %d distinct uids", len(seen))
	}
	one := UIDRange{5000, 5000}
	if one.ForJob("x") != 5000 || one.ForJob("y") != 5000 {
		t.Error("a one-uid range must give that uid")
	}
	top := UIDRange{4294967290, 4294967294}
	if u := top.ForJob("z"); u < top.First || u > top.Last {
		t.Errorf("uid %d outside %v", u, top)
	}
}

func TestTaskUser(t *testing.T) {
	r := UIDRange{200000, 299999}
	jobUID := fmt.Sprintf("%d:%d", r.ForJob("j1"), r.ForJob("j1"))
	for _, c := range []struct {
		name, payloadUser, jobID string
		r                        UIDRange
		want                     string
	}{
		{"payload user wins", "1234", "j1", r, "1234"},
		{"payload root request stays (checked later)", "0", "j1", r, "0"},
		{"job gets its uid and gid", "", "j1", r, jobUID},
		{"no job id: default user", "", "", r, DefaultTaskUser},
		{"range off: default user", "", "j1", UIDRange{}, DefaultTaskUser},
	} {
		if got := taskUser(c.payloadUser, c.jobID, c.r, DefaultTaskUser); got != c.want {
			t.Errorf("%s: taskUser(%q, %q, %v) = %q, want %q", c.name, c.payloadUser, c.jobID, c.r, got, c.want)
		}
	}
}

// The flag defaults to the safe range; $GLEANER_TASK_UID_RANGE applies when
// the flag is not given; "off" turns it off; a bad value names the flag.
func TestTaskUIDRangeFlag(t *testing.T) {
	parse := func(env string, args ...string) (Config, error) {
		t.Setenv(TaskUIDRangeEnv, env)
		fs := flag.NewFlagSet("executor", flag.ContinueOnError)
		f := BindFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		var cfg Config
		return cfg, f.Apply(&cfg)
	}
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"", nil, DefaultTaskUIDRange},
		{"300000-300999", nil, "300000-300999"},
		{"300000-300999", []string{"--task-uid-range=400000-400009"}, "400000-400009"},
		{"", []string{"--task-uid-range=off"}, "off"},
	} {
		cfg, err := parse(c.env, c.args...)
		if err != nil || cfg.TaskUIDs.String() != c.want {
			t.Errorf("env %q args %v: %v, %v; want %s", c.env, c.args, cfg.TaskUIDs, err, c.want)
		}
	}
	if _, err := parse("", "--task-uid-range=10-20"); err == nil || !strings.Contains(err.Error(), "--task-uid-range") {
		t.Errorf("bad range: %v, want an error naming --task-uid-range", err)
	}
}

func TestRangeConflicts(t *testing.T) {
	r := UIDRange{200000, 299999}
	passwd := "root:x:0:0::/:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nsvc:x:250000:250000::/:/bin/false\nbroken\n"
	subuid := "alice:100000:65536\nbob:165536:65536\ncarol:231072:65536\ndave:300000:65536\n"
	subgid := "alice:100000:65536\n"
	got := rangeConflicts(r, passwd, subuid, subgid)
	want := []string{"user svc has uid 250000", "subuid gives bob 165536-231071", "subuid gives carol 231072-296607"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("conflicts %q, want %q", got, want)
	}
	if c := rangeConflicts(UIDRange{}, passwd, subuid, subgid); c != nil {
		t.Errorf("range off: %q", c)
	}
	if c := rangeConflicts(UIDRange{400000, 499999}, passwd, subuid, subgid); c != nil {
		t.Errorf("a free range: %q", c)
	}
}

// Whatever --task-uid-range says, an accepted range never holds root or a
// system uid, and every job's uid lies inside it.
func FuzzParseUIDRange(f *testing.F) {
	for _, s := range []string{DefaultTaskUIDRange, "off", "0-10", "1000-1000", "4294967290-4294967294", "9-", "-", "1-2-3"} {
		f.Add(s, "job-1")
	}
	f.Fuzz(func(t *testing.T, s, jobID string) {
		r, err := ParseUIDRange(s)
		if err != nil || !r.Enabled() {
			return
		}
		if r.First < minTaskUID || r.Last < r.First || r.Last == 1<<32-1 {
			t.Fatalf("ParseUIDRange(%q) accepted %v", s, r)
		}
		if u := r.ForJob(jobID); u < r.First || u > r.Last {
			t.Fatalf("ForJob(%q) = %d outside %v", jobID, u, r)
		}
	})
}
