package fielderr

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorNamesTheField(t *testing.T) {
	cases := []struct {
		err  *FieldError
		want string
	}{
		{New("tasks[0].resources.cpus", "must be positive, got %g", -1.0), "tasks[0].resources.cpus: must be positive, got -1"},
		{New("", "document is empty"), "document is empty"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
		var fe *FieldError
		if !errors.As(fmt.Errorf("submit: %w", c.err), &fe) || fe.Field != c.err.Field {
			t.Errorf("errors.As through a wrap lost the field %q", c.err.Field)
		}
	}
}
