// Package fielderr is the validation error of every parser of outside
// input (job specs, agent attributes, constraints, templates): it names the
// offending field, so the API answers 400 {error, field}.
package fielderr

import "fmt"

// FieldError is a validation error about one field of an input.
type FieldError struct {
	Field string // a path such as tasks[0].resources.cpus; empty for the whole document
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// New is a FieldError of field with a formatted message.
func New(field, format string, a ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}
