package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// goal is one headline figure to report.
type goal struct {
	pkg, bench, unit, name, want string
}

func main() {
	goalsPath := flag.String("goals", "test/benchtable/goals.tsv", "headline figures to report")
	benchtime := flag.String("benchtime", "", "passed to go test -benchtime when set")
	verbose := flag.Bool("v", false, "echo go test output")
	before := flag.String("before", "", "also run every benchmark in this checkout (e.g. a `git worktree` of an earlier commit), "+
		"interleaved package by package with the current one, and print its figures in a before column")
	only := flag.String("only", "", "run only the rows whose name matches this regular expression")
	flag.Parse()
	goals, err := readGoals(*goalsPath)
	if err == nil && *only != "" {
		goals, err = selectGoals(goals, *only)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	results := map[string]map[string]float64{} // "pkg bench" -> unit -> value
	var beforeResults map[string]map[string]float64
	if *before != "" {
		beforeResults = map[string]map[string]float64{}
	}
	run := func(dir, pkg string, into map[string]map[string]float64) {
		out, err := runBenchmarks(dir, pkg, benchNames(goals, pkg), *benchtime)
		if *verbose {
			os.Stderr.Write(out)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchtable: %s%s: %v\n%s\n", dir, pkg, err, tail(out, 20))
		}
		for key, metrics := range parseBenchOutput(pkg, bytes.NewReader(out)) {
			into[key] = metrics
		}
	}
	for _, pkg := range packages(goals) {
		if beforeResults != nil {
			run(*before, pkg, beforeResults)
		}
		run("", pkg, results)
	}
	failed := printTable(os.Stdout, goals, results, beforeResults)
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "benchtable: %d figure(s) missed their goal or did not run\n", failed)
	}
}

func readGoals(path string) ([]goal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var goals []goal
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 5 {
			return nil, fmt.Errorf("%s:%d: want 5 tab-separated fields (package benchmark unit name goal), got %d", path, n, len(fields))
		}
		goals = append(goals, goal{pkg: fields[0], bench: fields[1], unit: fields[2], name: fields[3], want: fields[4]})
	}
	return goals, sc.Err()
}

func packages(goals []goal) []string {
	seen := map[string]bool{}
	var pkgs []string
	for _, g := range goals {
		if !seen[g.pkg] {
			seen[g.pkg] = true
			pkgs = append(pkgs, g.pkg)
		}
	}
	return pkgs
}

func benchNames(goals []goal, pkg string) []string {
	seen := map[string]bool{}
	var names []string
	for _, g := range goals {
		if g.pkg == pkg && !seen[g.bench] {
			seen[g.bench] = true
			names = append(names, g.bench)
		}
	}
	sort.Strings(names)
	return names
}

// selectGoals keeps the goals whose row name matches the expression.
func selectGoals(goals []goal, expr string) ([]goal, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("-only %q: %w", expr, err)
	}
	var out []goal
	for _, g := range goals {
		if re.MatchString(g.name) {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-only %q matches no row", expr)
	}
	return out, nil
}

// runBenchmarks runs the named benchmarks of pkg with go test in dir (""
// for the current directory).
func runBenchmarks(dir, pkg string, names []string, benchtime string) ([]byte, error) {
	args := []string{"test", "-run", "^$", "-bench", "^(" + strings.Join(names, "|") + ")$", "-benchmem", "-count=1"}
	if benchtime != "" {
		args = append(args, "-benchtime", benchtime)
	}
	args = append(args, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.Bytes(), err
}

// parseBenchOutput reads `go test -bench` lines such as
// "BenchmarkX-2   100   123 ns/op   5000 launches/s   0 allocs/op".
func parseBenchOutput(pkg string, r io.Reader) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		metrics := map[string]float64{}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			metrics[fields[i+1]] = v
		}
		out[pkg+" "+name] = metrics
	}
	return out
}

// meets reports whether v satisfies want (">=5000", "<20", "-" for report only).
func meets(v float64, want string) (bool, error) {
	if want == "-" {
		return true, nil
	}
	for _, op := range []string{">=", "<=", ">", "<", "="} {
		if strings.HasPrefix(want, op) {
			bound, err := strconv.ParseFloat(strings.TrimPrefix(want, op), 64)
			if err != nil {
				return false, fmt.Errorf("goal %q: %w", want, err)
			}
			switch op {
			case ">=":
				return v >= bound, nil
			case "<=":
				return v <= bound, nil
			case ">":
				return v > bound, nil
			case "<":
				return v < bound, nil
			default:
				return v == bound, nil
			}
		}
	}
	return false, errors.New("goal must start with >=, <=, >, <, = or be -")
}

// printTable prints one row per goal; with before results (nil: none) a
// before column shows the same figure measured in the other checkout.
func printTable(w io.Writer, goals []goal, results, before map[string]map[string]float64) (failed int) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	if before != nil {
		fmt.Fprintln(tw, "name\tbefore\tvalue\tunit\tgoal\t")
	} else {
		fmt.Fprintln(tw, "name\tvalue\tunit\tgoal\t")
	}
	for _, g := range goals {
		if before != nil {
			b := "-"
			if v, ok := before[g.pkg+" "+g.bench][g.unit]; ok {
				b = strconv.FormatFloat(v, 'g', 6, 64)
			}
			fmt.Fprintf(tw, "%s\t%s\t", g.name, b)
		} else {
			fmt.Fprintf(tw, "%s\t", g.name)
		}
		v, ok := results[g.pkg+" "+g.bench][g.unit]
		if !ok {
			failed++
			fmt.Fprintf(tw, "%s\t%s\t%s\tDID NOT RUN\n", "-", g.unit, g.want)
			continue
		}
		mark := "ok"
		if good, err := meets(v, g.want); err != nil {
			mark = err.Error()
			failed++
		} else if !good {
			mark = "MISSED"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", strconv.FormatFloat(v, 'g', 6, 64), g.unit, g.want, mark)
	}
	tw.Flush()
	return failed
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
