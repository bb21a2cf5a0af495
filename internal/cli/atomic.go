package cli

import (
	"os"
	"path/filepath"
)

// WriteAtomic writes a file that readers see whole or not at all: a
// temporary file in the same directory, synced, then renamed over path.
// The prover's beacon flow and `verifier beacon` exchange files this way.
func WriteAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
