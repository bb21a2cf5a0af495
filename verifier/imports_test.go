package verifier_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportGraph: network builders import the verifier into their nodes; it
// must build without cgo and must never pull in CUDA, the prover, the
// trainer or the matmul backends.
func TestImportGraph(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.CgoFiles}}", "github.com/seed46f70faa/trainproof/verifier")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, cgo, _ := strings.Cut(line, " ")
		require.Equal(t, "[]", cgo, "%s has cgo files", pkg)
		for _, banned := range []string{"gorgonia.org/cu", "/trainproof/cgo", "/trainproof/kernels", "/trainproof/prover", "/trainproof/train", "/trainproof/matmul", "/trainproof/cmd/"} {
			require.NotContains(t, pkg, banned, "verifier imports %s", pkg)
		}
		require.NotEqual(t, "runtime/cgo", pkg)
	}
	for _, tags := range []string{"", "cuda"} {
		cmd := exec.Command("go", "build", "-tags", tags, "./...")
		cmd.Dir = "."
		cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "CGO_ENABLED=0 go build -tags %q ./verifier/...: %s", tags, out)
	}
}
