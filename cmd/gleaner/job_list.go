package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// `gleaner job list [--state S] [--since 24h] [--label k=v]`: jobs in
// submission order, filtered by the API.

func listCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list jobs in submission order: state, submitted, ended, duration, labels; a cron job's schedule, last and next run",
		Flags: append(jobFlags(),
			&cli.StringSliceFlag{Name: "state", Usage: "only jobs in this state (repeatable or comma-separated: pending, running, succeeded, failed, killed, suspended)"},
			&cli.StringFlag{Name: "since", Usage: "only jobs submitted since this time (RFC 3339) or this long ago (e.g. 24h)"},
			&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "only jobs with this label KEY=VALUE (repeatable: all must match)"},
			&cli.IntFlag{Name: "limit", Usage: "only the newest N jobs of those matching (0: all)"},
		),
		Action: jobList,
	}
}

// listOptions turns the flags into the SDK's list options.
func listOptions(states, labels []string, since string, limit int, now time.Time) (client.ListOptions, error) {
	o := client.ListOptions{Limit: limit}
	if limit < 0 {
		return o, fmt.Errorf("--limit: want 0 or more, got %d", limit)
	}
	for _, s := range states {
		for _, one := range strings.Split(s, ",") {
			if one = strings.TrimSpace(one); one != "" {
				o.States = append(o.States, job.State(one))
			}
		}
	}
	if since != "" {
		if d, err := time.ParseDuration(since); err == nil && d >= 0 {
			o.Since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, since); err == nil {
			o.Since = t
		} else {
			return o, fmt.Errorf("--since %q: want an RFC 3339 time or a duration such as 24h", since)
		}
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return o, fmt.Errorf("--label %q: want KEY=VALUE", l)
		}
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		o.Labels[k] = v
	}
	return o, nil
}

func jobList(c *cli.Context) error {
	if c.NArg() != 0 {
		return cli.Exit("usage: gleaner job list [--state S] [--since 24h] [--label KEY=VALUE] [--limit N]", 2)
	}
	o, err := listOptions(c.StringSlice("state"), c.StringSlice("label"), c.String("since"), c.Int("limit"), time.Now())
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	out, err := jc.List(c.Context, o)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	// The API sends submission order; an older API may not.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Submitted < out[j].Submitted })
	return printOut(c, out, func(w io.Writer) { printJobList(w, out, painter{on: colorsFor(w)}, time.Now()) })
}

func printJobList(w io.Writer, jobs []client.JobSummary, p painter, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\t"+p.plain("STATE")+"\tSUBMITTED\tENDED\tDURATION\tLABELS\tTASKS")
	for _, st := range jobs {
		ended := "-"
		if st.Ended != nil {
			ended = st.Ended.UTC().Format("2006-01-02T15:04:05Z")
		}
		dur := "-"
		if st.Duration > 0 {
			dur = shortDuration(time.Duration(st.Duration * float64(time.Second)))
		}
		what := taskSummary(st.Tasks)
		if sc := st.Schedule; sc != nil {
			what = scheduleSummary(sc, now)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.ID, p.state(st.State), st.Submitted, ended, dur, dash(kvString(st.Labels)), what)
	}
	tw.Flush()
}

func taskSummary(ts []job.TaskStatus) string {
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%s:%s(%d/%d)", t.Name, t.State, t.Counts.Succeeded, t.Instances))
	}
	return strings.Join(parts, " ")
}

// scheduleSummary is a cron job's line: its schedule, last and next run.
func scheduleSummary(sc *client.ScheduleSummary, now time.Time) string {
	s := "schedule " + strings.TrimSpace(sc.Cron+" "+sc.Timezone)
	if sc.Suspend {
		s += " (suspended)"
	}
	last, next := "never", "-"
	if sc.LastRun != nil {
		last = sc.LastRun.UTC().Format("2006-01-02T15:04:05Z")
	}
	if sc.NextRun != nil {
		next = sc.NextRun.UTC().Format("2006-01-02T15:04:05Z") + " (in " + shortDuration(sc.NextRun.Sub(now)) + ")"
	}
	return s + "; last " + last + "; next " + next
}

// shortDuration rounds d for a table: 42s, 3m12s, 5h4m, 2d3h.
func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	days := int(d / (24 * time.Hour))
	return fmt.Sprintf("%dd%dh", days, int((d-time.Duration(days)*24*time.Hour)/time.Hour))
}
