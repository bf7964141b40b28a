package main

import (
	"io"
	"os"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Job states in colour on a terminal; never when the output is piped, when
// NO_COLOR is set (https://no-color.org) or TERM is dumb.

// colorsFor reports whether what is written to w may be coloured.
func colorsFor(w io.Writer) bool {
	return colorAllowed(isTerminal(w), os.Getenv("NO_COLOR"), os.Getenv("TERM"))
}

// colorAllowed decides from the facts: a terminal, $NO_COLOR, $TERM.
func colorAllowed(terminal bool, noColor, term string) bool {
	return terminal && noColor == "" && term != "dumb"
}

// SGR codes of one width each, so a column of coloured cells stays aligned
// in a tabwriter (every cell, the header too, carries the same number of
// invisible bytes).
const (
	sgrReset   = "\033[0m"
	sgrDefault = "\033[39m"
	sgrRed     = "\033[31m"
	sgrGreen   = "\033[32m"
	sgrYellow  = "\033[33m"
	sgrBlue    = "\033[34m"
	sgrMagenta = "\033[35m"
)

// painter colours states when on; off, it returns text as it is.
type painter struct{ on bool }

func stateColor(s job.State) string {
	switch s {
	case job.Succeeded:
		return sgrGreen
	case job.Failed:
		return sgrRed
	case job.Killed:
		return sgrMagenta
	case job.Running:
		return sgrBlue
	case job.Pending, job.Suspended:
		return sgrYellow
	}
	return sgrDefault
}

// state is s in its colour.
func (p painter) state(s job.State) string { return p.wrap(stateColor(s), string(s)) }

// plain is text with the same invisible width as a coloured cell, for
// the other cells (and the header) of a coloured column.
func (p painter) plain(text string) string { return p.wrap(sgrDefault, text) }

func (p painter) wrap(code, text string) string {
	if !p.on {
		return text
	}
	return code + text + sgrReset
}
