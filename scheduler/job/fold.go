package job

import "sort"

// Range is a half-open range of instance indexes [From, To).
type Range struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Folds are, per task, the index ranges of instances that succeeded at
// their first attempt and whose attempt records were folded away after the
// job succeeded: a huge array keeps a few ranges instead of a record per
// instance.
type Folds map[string][]Range

// Has reports whether instance index of task is folded.
func (f Folds) Has(task string, index int) bool {
	rs := f[task]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].To > index })
	return i < len(rs) && rs[i].From <= index
}

// PlanFolds lists, per task, the ranges of instances whose only attempt is
// attempt 0 and ended done (succeeded): what can be folded. Pure.
func PlanFolds(s *Spec, attempts []Attempt) Folds {
	type inst struct {
		n  int
		ok bool
	}
	per := map[string]map[int]*inst{}
	for i := range attempts {
		a := &attempts[i]
		m := per[a.Task]
		if m == nil {
			m = map[int]*inst{}
			per[a.Task] = m
		}
		in := m[a.Index]
		if in == nil {
			in = &inst{}
			m[a.Index] = in
		}
		in.n++
		in.ok = a.Attempt == 0 && a.State == AttemptSucceeded && (a.Verdict == "" || a.Verdict == VerdictDone)
	}
	out := Folds{}
	for _, t := range s.Tasks {
		var idx []int
		for i, in := range per[t.Name] {
			if in.n == 1 && in.ok && i < t.Instances {
				idx = append(idx, i)
			}
		}
		sort.Ints(idx)
		var rs []Range
		for _, i := range idx {
			if n := len(rs); n > 0 && rs[n-1].To == i {
				rs[n-1].To++
			} else {
				rs = append(rs, Range{From: i, To: i + 1})
			}
		}
		if len(rs) > 0 {
			out[t.Name] = rs
		}
	}
	return out
}
