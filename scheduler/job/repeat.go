package job

// Repeat is a task's conditional repetition (Argo's recursion, "flip a
// coin until heads"): when an instance succeeds and While, an expression
// over its own output parameters (outputs.parameters.x), holds, the
// instance runs again, each round an attempt of its own, until While is
// false or the instance has made Limit attempts (rounds and retries
// together). The tasks downstream see the last round's outputs.
type Repeat struct {
	While string `json:"while"`
	Limit int    `json:"limit"`
}
