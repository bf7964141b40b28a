package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompletionScripts(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out, err := runJobCLI(t, "completion", sh)
		if err != nil || !strings.Contains(out, "gleaner") {
			t.Fatalf("completion %s: %v\n%s", sh, err, out)
		}
	}
	if _, err := runJobCLI(t, "completion", "tcsh"); exitCode(err) != 2 {
		t.Fatalf("completion tcsh: %v", err)
	}
}

// The bash script completes `gleaner job li` to list with a built binary.
func TestBashCompletionCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gleaner")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	script, _ := runJobCLI(t, "completion", "bash")
	os.WriteFile(filepath.Join(dir, "c.bash"), []byte(script), 0o644)
	cmd := exec.Command(bash, "-c", `source c.bash; COMP_WORDS=(gleaner job li); COMP_CWORD=2; _gleaner_complete; echo "${COMPREPLY[@]}"`)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "list" {
		t.Fatalf("completion of 'gleaner job li': %v %q", err, out)
	}
}
