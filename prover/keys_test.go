package prover_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/prover"
)

// TestGenerateKeyFiles: both files mode 0600; a .pub that is a symbolic
// link (to a file, or dangling) or an existing file is refused, its target
// untouched and no private key left behind.
func TestGenerateKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "miner.key")
	_, err := prover.GenerateKey(path)
	require.NoError(t, err)
	for _, p := range []string{path, path + ".pub"} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o600), st.Mode().Perm(), p)
	}

	target := filepath.Join(dir, "authorized_keys")
	require.NoError(t, os.WriteFile(target, []byte("precious\n"), 0o644))
	for name, setup := range map[string]func(pub string){
		"pub links to a file": func(pub string) { require.NoError(t, os.Symlink(target, pub)) },
		"pub dangles":         func(pub string) { require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere"), pub)) },
		"pub exists":          func(pub string) { require.NoError(t, os.WriteFile(pub, []byte("old\n"), 0o644)) },
	} {
		key := filepath.Join(t.TempDir(), "k")
		setup(key + ".pub")
		_, err := prover.GenerateKey(key)
		require.Error(t, err, name)
		_, err = os.Lstat(key)
		require.ErrorIs(t, err, fs.ErrNotExist, "%s: no private key left behind", name)
	}
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "precious\n", string(b))
	_, err = os.Stat(filepath.Join(dir, "nowhere"))
	require.ErrorIs(t, err, fs.ErrNotExist)

	// The private key itself through a link.
	key := filepath.Join(t.TempDir(), "k")
	require.NoError(t, os.Symlink(target, key))
	_, err = prover.GenerateKey(key)
	require.Error(t, err)
	b, err = os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "precious\n", string(b))
}
