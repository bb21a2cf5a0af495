package cuda_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestCudaBuildRunsWithoutGPU builds the prover with the cuda tag, as `make
// cuda` does, and runs it the way a miner without a GPU would: keygen, a
// short training run on the cpu backend, and --backend auto, which must fall
// back to the cpu with one line on stderr saying so. The cuda build loads
// libcuda.so.1 at run time, so none of this needs a driver; on a machine
// with a GPU, auto picks it and says that instead.
func TestCudaBuildRunsWithoutGPU(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the prover")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the cuda build is for linux")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	data := "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(data, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("no Fashion-MNIST in %s (apt-get install dataset-fashion-mnist)", data)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "prover")
	build := exec.Command(goBin, "build", "-tags", "cuda", "-o", bin, "../../cmd/prover")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags cuda ./cmd/prover: %v\n%s", err, out)
	}
	if out, err := exec.Command("readelf", "-d", bin).Output(); err == nil && bytes.Contains(out, []byte("libcuda")) {
		t.Errorf("the cuda build links libcuda at load time:\n%s", out)
	}
	run := func(args ...string) (stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			t.Fatalf("prover %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, o.String(), e.String())
		}
		return o.String(), e.String()
	}
	out, _ := run("keygen", "--out", "miner.key")
	if !strings.Contains(out, "public key:") {
		t.Errorf("keygen printed %q", out)
	}
	tiny := []string{"--steps", "2", "--layers", "16", "--batch", "8", "--samples", "4", "--key", "miner.key", "--data", data}
	run(append([]string{"train", "--backend", "cpu", "--out", "cpu"}, tiny...)...)
	_, stderr := run(append([]string{"train", "--backend", "auto", "--out", "auto"}, tiny...)...)
	var notice []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "prover: backend auto:") {
			notice = append(notice, l)
		}
	}
	if len(notice) != 1 {
		t.Fatalf("--backend auto: want one notice line on stderr, got %d:\n%s", len(notice), stderr)
	}
	t.Log(notice[0])
	if !strings.Contains(notice[0], "cuda") && !strings.Contains(notice[0], "cpu") {
		t.Errorf("the notice names no backend: %s", notice[0])
	}
}
