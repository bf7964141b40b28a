package dag

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// State is a task's derived state as the DAG sees it: job.State's values
// plus Skipped.
type State string

// Task states.
const (
	Pending   State = "pending"
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Killed    State = "killed"
	Skipped   State = "skipped"
)

// FromJob converts a derived job.State.
func FromJob(s job.State) State { return State(s) }

// Ended reports whether the task will change state no more.
func (s State) Ended() bool {
	return s == Succeeded || s == Failed || s == Killed || s == Skipped
}

var ended = []State{Succeeded, Failed, Killed, Skipped}

// Node is one task's dependency spec.
type Node struct {
	Name string
	// Depends lists tasks that must all succeed (a task with
	// ContinueOnFailed counts as satisfied when it failed, too).
	Depends []string
	// Expr, instead of Depends, is a boolean expression over task outcomes:
	// a bare name means name.succeeded; fields are succeeded, failed,
	// killed, skipped and ended; operators &&, ||, ! (and, or, not) and
	// parentheses.
	Expr string
	// When is a boolean expression over the job's parameters, evaluated when
	// the dependencies are satisfied: params.x or inputs.parameters.x (a
	// string), e.g. `params.env == "prod"` or `int(params.shards) > 4`.
	// False → skipped.
	When string
	// ContinueOnFailed: this task's failure does not fail the job (nor stop
	// it under failFast), and list-form dependents still run.
	ContinueOnFailed bool
	// OutputRefs are the upstream outputs its templates use: a task ready
	// to start whose upstream did not leave one is skipped, naming it.
	OutputRefs []spec.OutputRef
	// FanOut is the task's job spec when the task has a withParam
	// (outputs.go).
	FanOut *job.Spec
}

// IsExpr reports whether a depends string is an expression rather than a
// single task name (so a spec may take `depends: "a && b"` as a string and
// `depends: [a, b]` as a list).
func IsExpr(s string) bool { return !spec.ValidName(strings.TrimSpace(s)) }

// Options are job-level evaluation options.
type Options struct {
	// FailFast: once a task has failed (or was killed) and does not continue
	// on failure, no further task starts; pending ones are skipped — except
	// tasks whose depends expression looks at that failure (a.failed,
	// a.killed, a.ended), which are handlers and still run. Without
	// FailFast (continue), independent branches run to their end.
	FailFast bool
	// Outputs are the output parameters of the job's succeeded instances,
	// seen by when conditions (tasks.NAME.outputs.parameters.P).
	Outputs *Outputs
	// CheckFanOut, if set, checks a withParam task fanned out over its
	// list (task i of s; expand.FromSpec, which this package cannot
	// import): an error skips the task with it as the reason.
	CheckFanOut func(s *job.Spec, i int) error
}

// Graph is a compiled, validated dependency graph.
type Graph struct {
	nodes []compiled
	index map[string]int
	order []int // topological
}

type compiled struct {
	Node
	refs    []int       // tasks referenced by the dependency, sorted
	handles []int       // tasks referenced by .failed, .killed or .ended
	prog    *vm.Program // nil for list form
	when    *vm.Program
	// outs are the upstream outputs the depends expression reads.
	outs []outputUse
}

// outputUse is one NAME.outputs.parameters.P in a depends expression.
type outputUse struct {
	task  int
	param string
}

// outcome is the view of one task inside a depends expression.
type outcome struct {
	Succeeded bool `expr:"succeeded"`
	Failed    bool `expr:"failed"`
	Killed    bool `expr:"killed"`
	Skipped   bool `expr:"skipped"`
	Ended     bool `expr:"ended"`
}

func view(s State) outcome {
	return outcome{Succeeded: s == Succeeded, Failed: s == Failed, Killed: s == Killed, Skipped: s == Skipped, Ended: s.Ended()}
}

var outcomeFields = []string{"succeeded", "failed", "killed", "skipped", "ended"}

// whenEnv is the environment of `when` expressions.
type whenEnv struct {
	Params map[string]string `expr:"params"`
	Inputs inputs            `expr:"inputs"`
	// Tasks holds upstream tasks' outputs (outputs.go).
	Tasks map[string]whenTask `expr:"tasks"`
}

// inputs lets `when` say inputs.parameters.x, as expand's placeholders do.
type inputs struct {
	Parameters map[string]string `expr:"parameters"`
}

// keywords are expr words left alone in a depends expression.
var keywords = map[string]bool{"and": true, "or": true, "not": true, "true": true, "false": true}

// Compile validates nodes (names unique, dependencies known, no
// self-dependency, no cycle, expressions well-formed) and compiles them.
// Errors are *fielderr.FieldError naming tasks[i].depends / tasks[i].when.
func Compile(nodes []Node) (*Graph, error) {
	g := &Graph{index: make(map[string]int, len(nodes))}
	for i, n := range nodes {
		if _, dup := g.index[n.Name]; dup {
			return nil, ferr(fmt.Sprintf("tasks[%d].name", i), "duplicate task %q", n.Name)
		}
		g.index[n.Name] = i
	}
	g.nodes = make([]compiled, len(nodes))
	for i, n := range nodes {
		c := compiled{Node: n}
		p := fmt.Sprintf("tasks[%d]", i)
		if err := spec.CheckExpr(p+".depends", n.Expr); err != nil {
			return nil, err
		}
		if err := spec.CheckExpr(p+".when", n.When); err != nil {
			return nil, err
		}
		switch {
		case n.Expr != "" && len(n.Depends) > 0:
			return nil, ferr(p+".depends", "give a list or an expression, not both")
		case n.Expr != "":
			rewritten, refs, handles, outs, err := g.rewrite(n.Expr)
			if err != nil {
				return nil, ferr(p+".depends", "%v", err)
			}
			if slices.Contains(refs, i) {
				return nil, ferr(p+".depends", "task %q depends on itself", n.Name)
			}
			// Without outputs the environment is a map of outcomes, as
			// deps passes it (no value boxed per evaluation).
			outcomes := make(map[string]outcome, len(refs))
			for _, r := range refs {
				outcomes[fmt.Sprintf("t%d", r)] = outcome{}
			}
			var env any = outcomes
			if len(outs) > 0 {
				withOutputs := make(map[string]any, len(refs)+1)
				for k, v := range outcomes {
					withOutputs[k] = v
				}
				withOutputs[outputFunc] = outputLookup(nil)
				env = withOutputs
			}
			prog, err := expr.Compile(rewritten, expr.Env(env), expr.AsBool())
			if err != nil {
				return nil, ferr(p+".depends", "bad expression %q: %v", n.Expr, firstLine(err))
			}
			c.prog, c.refs, c.handles, c.outs = prog, refs, handles, outs
		default:
			for k, d := range n.Depends {
				j, ok := g.index[d]
				if !ok {
					return nil, ferr(fmt.Sprintf("%s.depends[%d]", p, k), "unknown task %q", d)
				}
				if slices.Contains(c.refs, j) {
					return nil, ferr(fmt.Sprintf("%s.depends[%d]", p, k), "duplicate dependency %q", d)
				}
				c.refs = append(c.refs, j)
			}
			slices.Sort(c.refs)
		}
		if slices.Contains(c.refs, i) {
			return nil, ferr(p+".depends", "task %q depends on itself", n.Name)
		}
		if n.When != "" {
			prog, err := expr.Compile(n.When, expr.Env(whenEnv{}), expr.AsBool())
			if err != nil {
				return nil, ferr(p+".when", "bad condition %q: %v", n.When, firstLine(err))
			}
			c.when = prog
		}
		g.nodes[i] = c
	}
	if err := g.sort(); err != nil {
		return nil, err
	}
	return g, nil
}

// FromSpec compiles a job.Spec's dependencies (list or expression), when
// conditions and continueOn flags.
func FromSpec(s *job.Spec) (*Graph, error) {
	nodes := make([]Node, len(s.Tasks))
	for i, t := range s.Tasks {
		nodes[i] = Node{Name: t.Name, Depends: t.Depends, Expr: t.DependsExpr, When: t.When, ContinueOnFailed: t.ContinueOn,
			OutputRefs: spec.TemplateOutputRefs(fmt.Sprintf("tasks[%d]", i), &s.Tasks[i])}
		if t.WithParam != "" { // resolved or not: the list is checked from the outputs
			nodes[i].FanOut = s
		}
	}
	return Compile(nodes)
}

// The spec parser cannot import this package (it imports the parser), so
// it runs the graph check through a registered hook: an expression's
// syntax, unknown names and cycles are rejected at submit.
func init() {
	spec.RegisterCheck(func(s *job.Spec) error {
		g, err := FromSpec(s)
		if err != nil {
			return err
		}
		return g.CheckWhen(s.Params)
	})
}

func ferr(field, format string, a ...any) error {
	return &fielderr.FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 'A' && c <= 'Z'
}

// exprWords are expr operators and functions a depends expression may use
// besides task names: the operators for comparing outputs and the
// conversions (a task of that name is still referred to by it, except a
// function name followed by a bracket).
var exprWords = map[string]bool{"in": true, "matches": true, "contains": true, "startsWith": true, "endsWith": true}
var exprFuncs = map[string]bool{"int": true, "float": true, "len": true, "lower": true, "upper": true, "trim": true, "fromJSON": true}

// outputFunc is the function a depends expression's output references are
// rewritten to: output(task index, parameter).
const outputFunc = "output"

// rewrite replaces task names (which may contain '-') with identifiers t<i>
// and bare names with t<i>.succeeded, and NAME.outputs.parameters.P with
// output(i, "P"), returning the referenced tasks, those whose failure the
// expression looks at and the output references. String literals are
// copied as they stand.
func (g *Graph) rewrite(e string) (string, []int, []int, []outputUse, error) {
	var b strings.Builder
	var refs, handles []int
	var outs []outputUse
	fail := func(format string, a ...any) (string, []int, []int, []outputUse, error) {
		return "", nil, nil, nil, fmt.Errorf(format, a...)
	}
	for i := 0; i < len(e); {
		c := e[i]
		if c == '"' || c == '\'' || c == '`' {
			j := i + 1
			for j < len(e) && e[j] != c {
				if e[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(e) {
				return fail("expression %q: unterminated string", e)
			}
			b.WriteString(e[i : j+1])
			i = j + 1
			continue
		}
		if !isNameChar(c) || c == '-' {
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(e) && isNameChar(e[j]) {
			j++
		}
		word := e[i:j]
		i = j
		if keywords[word] || word[0] >= '0' && word[0] <= '9' && strings.Trim(word, "0123456789") == "" {
			b.WriteString(word)
			continue
		}
		idx, ok := g.index[word]
		if exprFuncs[word] && strings.HasPrefix(strings.TrimLeft(e[i:], " \t"), "(") || !ok && exprWords[word] {
			b.WriteString(word)
			continue
		}
		if !ok {
			return fail("unknown task %q in %q", word, e)
		}
		if !slices.Contains(refs, idx) {
			refs = append(refs, idx)
		}
		if rest, found := strings.CutPrefix(e[i:], ".outputs.parameters."); found {
			k := 0
			for k < len(rest) && isNameChar(rest[k]) {
				k++
			}
			param := rest[:k]
			if !spec.ValidOutputName(param) {
				return fail("%s.outputs.parameters.%s: %q is not an output parameter name", word, param, param)
			}
			fmt.Fprintf(&b, "%s(%d, %q)", outputFunc, idx, param)
			outs = append(outs, outputUse{task: idx, param: param})
			i += len(".outputs.parameters.") + k
			continue
		}
		fmt.Fprintf(&b, "t%d", idx)
		if i < len(e) && e[i] == '.' {
			k := i + 1
			for k < len(e) && isNameChar(e[k]) {
				k++
			}
			field := e[i+1 : k]
			if !slices.Contains(outcomeFields, field) {
				return fail("%s.%s: unknown outcome %q (want one of %s, or outputs.parameters.NAME)", word, field, field, strings.Join(outcomeFields, ", "))
			}
			if field != "succeeded" && !slices.Contains(handles, idx) {
				handles = append(handles, idx)
			}
			b.WriteString(e[i:k])
			i = k
		} else {
			b.WriteString(".succeeded")
		}
	}
	slices.Sort(refs)
	return b.String(), refs, handles, outs, nil
}

// sort orders the graph topologically or returns the first cycle found.
func (g *Graph) sort() error {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(g.nodes))
	var stack []int
	var visit func(i int) []int
	visit = func(i int) []int {
		color[i] = grey
		stack = append(stack, i)
		for _, d := range g.nodes[i].refs {
			switch color[d] {
			case grey:
				k := slices.Index(stack, d)
				return append(slices.Clone(stack[k:]), d)
			case white:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
		g.order = append(g.order, i)
		return nil
	}
	for i := range g.nodes {
		if color[i] != white {
			continue
		}
		if cyc := visit(i); cyc != nil {
			names := make([]string, len(cyc))
			for k, n := range cyc {
				names[k] = g.nodes[n].Name
			}
			return ferr(fmt.Sprintf("tasks[%d].depends", cyc[0]), "dependency cycle: %s", strings.Join(names, " -> "))
		}
	}
	return nil
}

// Order returns the task names in a topological order (dependencies
// first).
func (g *Graph) Order() []string {
	out := make([]string, len(g.order))
	for k, i := range g.order {
		out[k] = g.nodes[i].Name
	}
	return out
}

// Upstream returns the tasks name depends on, directly or not, in
// topological order (for "retry the failed part with its upstream").
func (g *Graph) Upstream(name string) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	seen := make([]bool, len(g.nodes))
	var walk func(int)
	walk = func(i int) {
		for _, d := range g.nodes[i].refs {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(i)
	var out []string
	for _, k := range g.order {
		if seen[k] {
			out = append(out, g.nodes[k].Name)
		}
	}
	return out
}

// Dependencies returns the names a task's dependency refers to.
func (g *Graph) Dependencies(name string) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	out := make([]string, len(g.nodes[i].refs))
	for k, d := range g.nodes[i].refs {
		out[k] = g.nodes[d].Name
	}
	return out
}

// Verdict is the decision for a pending task.
type Verdict string

// Verdicts.
const (
	Ready Verdict = "ready" // start its instances
	Wait  Verdict = "wait"  // dependencies not decided yet
	Skip  Verdict = "skip"  // will never run: mark it skipped
	// None: the task is not pending (already running or ended).
	None Verdict = "none"
)

// Decision is the verdict for one task with its reason.
type Decision struct {
	Verdict Verdict
	Reason  string
}

// maxEnumerate bounds the unfinished dependencies of an expression that
// are enumerated to decide early (4^5 = 1024 evaluations).
const maxEnumerate = 5

// Evaluate decides for every task, from the tasks' current states (missing
// = pending) and the job's parameters. It is pure and deterministic.
// A task is ready once every task its dependency refers to has ended and
// the dependency holds. It is skipped as soon as it can never hold: an
// expression that is false whatever the unfinished tasks' outcomes (so
// `a && b` skips once a failed, without waiting for b), a list with one
// dependency ended unsatisfied. Tasks skipped count as skipped for their
// dependents in the same evaluation.
func (g *Graph) Evaluate(states map[string]State, params map[string]string, opt Options) (map[string]Decision, error) {
	st := make([]State, len(g.nodes))
	for i, n := range g.nodes {
		st[i] = states[n.Name]
		if st[i] == "" {
			st[i] = Pending
		}
	}
	var halting []int
	if opt.FailFast {
		for i, n := range g.nodes {
			if (st[i] == Failed || st[i] == Killed) && !n.ContinueOnFailed {
				halting = append(halting, i)
			}
		}
	}
	out := make(map[string]Decision, len(g.nodes))
	// In topological order, so a task skipped now counts as skipped for
	// its dependents in the same pass.
	for _, i := range g.order {
		n := &g.nodes[i]
		if st[i] != Pending {
			out[n.Name] = Decision{Verdict: None, Reason: string(st[i])}
			continue
		}
		if h := unhandled(halting, n.handles); h >= 0 {
			out[n.Name] = Decision{Verdict: Skip, Reason: fmt.Sprintf("failFast: task %s %s", g.nodes[h].Name, st[h])}
			st[i] = Skipped
			continue
		}
		d, err := g.deps(i, st, opt.Outputs)
		if err != nil {
			return nil, err
		}
		if d.Verdict == Ready && n.when != nil {
			// A condition that cannot be evaluated never will be (the
			// params are the job's, fixed at submit, which refuses such a
			// condition): the task is skipped with the error as its reason
			// rather than left pending with none.
			switch ok, err := runWhen(n.when, params, opt.Outputs); {
			case err != nil:
				d = Decision{Verdict: Skip, Reason: fmt.Sprintf("when %q failed: %s", n.When, firstLine(err))}
			case !ok:
				d = Decision{Verdict: Skip, Reason: "when is false: " + n.When}
			}
		}
		if d.Verdict == Ready {
			if why := missingOutput(n.OutputRefs, opt.Outputs); why != "" {
				d = Decision{Verdict: Skip, Reason: why}
			} else if why := n.fanOut(i, opt); why != "" {
				d = Decision{Verdict: Skip, Reason: why}
			}
		}
		if d.Verdict == Skip {
			st[i] = Skipped
		}
		out[n.Name] = d
	}
	return out, nil
}

// runWhen evaluates a compiled when condition with the job's params.
func runWhen(prog *vm.Program, params map[string]string, outs *Outputs) (bool, error) {
	v, err := expr.Run(prog, whenEnv{Params: params, Inputs: inputs{Parameters: params}, Tasks: outs.whenTasks()})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

// CheckWhen evaluates every task's when condition with the job's params
// (fixed at submit), so a condition that fails, e.g. int(params.shards)
// with shards "many", is refused at submit instead of found at run time.
// Errors are *fielderr.FieldError on tasks[i].when.
func (g *Graph) CheckWhen(params map[string]string) error {
	for i, n := range g.nodes {
		if n.when == nil || len(spec.WhenOutputRefs("", n.When)) > 0 {
			continue // outputs are known only at run time
		}
		if _, err := runWhen(n.when, params, nil); err != nil {
			return ferr(fmt.Sprintf("tasks[%d].when", i), "%q cannot be evaluated with the job's params: %s", n.When, firstLine(err))
		}
	}
	return nil
}

// unhandled returns the first halting task the node's expression does not
// look at, or -1: under failFast a task that handles every failure (e.g.
// depends `a.failed`) still runs.
func unhandled(halting, handles []int) int {
	for _, h := range halting {
		if !slices.Contains(handles, h) {
			return h
		}
	}
	return -1
}

func (g *Graph) deps(i int, st []State, outs *Outputs) (Decision, error) {
	n := &g.nodes[i]
	if n.prog == nil {
		waiting := ""
		for _, d := range n.refs {
			s := st[d]
			switch {
			case s == Succeeded, s == Failed && g.nodes[d].ContinueOnFailed:
			case s.Ended():
				return Decision{Verdict: Skip, Reason: fmt.Sprintf("dependency %s %s", g.nodes[d].Name, s)}, nil
			case waiting == "":
				waiting = g.nodes[d].Name
			}
		}
		if waiting != "" {
			return Decision{Verdict: Wait, Reason: "waiting for " + waiting}, nil
		}
		return Decision{Verdict: Ready, Reason: "dependencies satisfied"}, nil
	}
	// The environment: outcomes only (as compiled) unless the expression
	// reads outputs.
	outcomes := make(map[string]outcome, len(n.refs))
	var withOutputs map[string]any
	var env any = outcomes
	if len(n.outs) > 0 {
		withOutputs = make(map[string]any, len(n.refs)+1)
		env = withOutputs
	}
	set := func(d int, o outcome) {
		if withOutputs != nil {
			withOutputs[fmt.Sprintf("t%d", d)] = o
		} else {
			outcomes[fmt.Sprintf("t%d", d)] = o
		}
	}
	var open []int
	for _, d := range n.refs {
		set(d, view(st[d]))
		if !st[d].Ended() {
			open = append(open, d)
		}
	}
	if len(open) > maxEnumerate {
		return Decision{Verdict: Wait, Reason: fmt.Sprintf("waiting for %d tasks", len(open))}, nil
	}
	// Evaluate under every combination of outcomes of the unfinished tasks:
	// skip early when none makes the expression true. An output of an
	// unfinished task that succeeds is not known yet: a combination that
	// reads one may hold, so the task waits.
	combos := 1
	for range open {
		combos *= len(ended)
	}
	var onStack [maxEnumerate]State
	combo := onStack[:len(open)] // the outcomes tried for open
	if withOutputs != nil {
		seen := make([]State, len(open)) // read by the output function
		withOutputs[outputFunc] = g.outputLookup(st, open, seen, outs)
		combo = seen
	}
	var missing error // why an outcome could not be evaluated
	for c := 0; c < combos; c++ {
		k := c
		for o, d := range open {
			combo[o] = ended[k%len(ended)]
			set(d, view(combo[o]))
			k /= len(ended)
		}
		v, err := expr.Run(n.prog, env)
		switch {
		case err != nil && errors.Is(err, errOutputNotYet):
			return Decision{Verdict: Wait, Reason: "waiting for " + g.nodes[open[0]].Name}, nil
		case err != nil && isMissingOutput(err):
			if missing == nil {
				missing = err
			}
			continue
		case err != nil:
			// e.g. int() of an output that is not a number: that
			// outcome cannot make the expression true.
			if missing == nil {
				missing = fmt.Errorf("failed: %s", firstLine(err))
			}
			continue
		case !v.(bool):
			continue
		}
		if len(open) > 0 {
			return Decision{Verdict: Wait, Reason: "waiting for " + g.nodes[open[0]].Name}, nil
		}
		return Decision{Verdict: Ready, Reason: "depends is true: " + n.Expr}, nil
	}
	if missing != nil {
		return Decision{Verdict: Skip, Reason: fmt.Sprintf("depends %q: %v", n.Expr, missing)}, nil
	}
	return Decision{Verdict: Skip, Reason: "depends can no longer hold: " + n.Expr}, nil
}

// outputLookup is the type of the output function of a depends
// expression.
type outputLookup func(task int, param string) (string, error)

// errOutputNotYet: the expression read an output of a task that has not
// ended (in an enumerated outcome where it succeeded).
var errOutputNotYet = errors.New("output not known yet")

// missingOutputError: the expression read an output that does not exist —
// its task did not succeed, or succeeded without leaving it.
type missingOutputError struct {
	task, param string
	state       State
}

func isMissingOutput(err error) bool {
	var miss *missingOutputError
	return errors.As(err, &miss)
}

func (e *missingOutputError) Error() string {
	if e.state != Succeeded {
		return fmt.Sprintf("%s.outputs.parameters.%s does not exist: task %s %s (only a succeeded task has outputs)", e.task, e.param, e.task, e.state)
	}
	return fmt.Sprintf("%s.outputs.parameters.%s does not exist: task %s left no output %q", e.task, e.param, e.task, e.param)
}

// outputLookup reads outputs for a depends expression under the tasks'
// states real, the unfinished ones (open) taken as the outcomes combo: the value (over a task of several instances, the JSON list of every
// instance's) of a succeeded task; errOutputNotYet for a task that has not
// really ended; a *missingOutputError otherwise.
func (g *Graph) outputLookup(real []State, open []int, combo []State, outs *Outputs) outputLookup {
	return func(task int, param string) (string, error) {
		name := g.nodes[task].Name
		s := real[task]
		if o := slices.Index(open, task); o >= 0 {
			s = combo[o]
		}
		switch {
		case s != Succeeded:
			return "", &missingOutputError{task: name, param: param, state: s}
		case !real[task].Ended():
			return "", errOutputNotYet
		}
		v, err := outs.Param(name, -1, param)
		if err != nil {
			return "", &missingOutputError{task: name, param: param, state: Succeeded}
		}
		return v, nil
	}
}

// Failing returns the tasks whose state fails the job: failed or killed
// without ContinueOnFailed. (A killed job is the caller's business.)
func (g *Graph) Failing(states map[string]State) []string {
	var out []string
	for _, n := range g.nodes {
		s := states[n.Name]
		if (s == Failed || s == Killed) && !n.ContinueOnFailed {
			out = append(out, n.Name)
		}
	}
	return out
}

// ParseDepends reads a spec's depends value as decoded from YAML/JSON: a
// list of task names, or a string that is either one task name or an
// expression. path is the field path for errors (tasks[2].depends).
func ParseDepends(path string, v any) (list []string, expression string, err error) {
	switch x := v.(type) {
	case nil:
		return nil, "", nil
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return nil, "", ferr(path, "must not be empty")
		}
		if IsExpr(s) {
			return nil, s, nil
		}
		return []string{s}, "", nil
	case []any:
		for i, e := range x {
			s, ok := e.(string)
			if !ok || !spec.ValidName(s) {
				return nil, "", ferr(fmt.Sprintf("%s[%d]", path, i), "must be a task name, got %v", e)
			}
			list = append(list, s)
		}
		return list, "", nil
	}
	return nil, "", ferr(path, "must be a list of task names or an expression such as \"a && b\"")
}
