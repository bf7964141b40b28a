package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// `gleaner completion bash|zsh|fish` prints a shell completion script.
// bash and zsh ask the binary itself for candidates (urfave/cli's
// --generate-bash-completion); fish gets a static script generated from
// the command tree.

func init() {
	register(&cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish); e.g. gleaner completion bash > /etc/bash_completion.d/gleaner",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("usage: gleaner completion bash|zsh|fish", 2)
			}
			switch c.Args().First() {
			case "bash":
				_, err := fmt.Fprint(c.App.Writer, bashCompletion)
				return err
			case "zsh":
				_, err := fmt.Fprint(c.App.Writer, zshCompletion)
				return err
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(c.App.Writer, s)
				return err
			}
			return cli.Exit(fmt.Sprintf("completion: unknown shell %q (bash, zsh or fish)", c.Args().First()), 2)
		},
	})
}

// bashCompletion completes from the words typed so far by running
// gleaner with --generate-bash-completion.
const bashCompletion = `# gleaner bash completion: source it, or put it in /etc/bash_completion.d/gleaner
_gleaner_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  if [[ "$cur" == -* ]]; then
    words+=("$cur")
  fi
  local IFS=$'\n'
  COMPREPLY=($(compgen -W "$("${words[@]}" --generate-bash-completion 2>/dev/null | cut -d: -f1)" -- "$cur"))
}
complete -o bashdefault -o default -F _gleaner_complete gleaner
`

// zshCompletion does the same for zsh.
const zshCompletion = `#compdef gleaner
# gleaner zsh completion: put it in a directory of $fpath as _gleaner
_gleaner() {
  local -a candidates
  local cur="${words[CURRENT]}"
  local -a typed
  typed=("${(@)words[1,CURRENT-1]}")
  if [[ "$cur" == -* ]]; then
    typed+=("$cur")
  fi
  candidates=("${(@f)$("${typed[@]}" --generate-bash-completion 2>/dev/null | cut -d: -f1)}")
  compadd -a candidates
  _files
}
compdef _gleaner gleaner
`
