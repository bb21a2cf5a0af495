package prover

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "miner.key")
	pub, err := GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKey(path); err == nil {
		t.Fatal("an existing key was overwritten")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st.Mode(), err)
	}
	key, legacy, err := ReadKeyFile(path)
	if err != nil || legacy || !pub.Equal(key.Public()) {
		t.Fatalf("read back: %v legacy %v", err, legacy)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Every single hex digit changed, anywhere in the file, is refused.
	for i, c := range b {
		if !strings.ContainsRune("0123456789abcdef", rune(c)) || i < len(keyHeaderV2) {
			continue
		}
		bad := bytes.Clone(b)
		bad[i] = "0123456789abcdef"[(strings.IndexByte("0123456789abcdef", c)+1)%16]
		if _, _, err := ParseKey(bad); !errors.Is(err, ErrKeyDamaged) {
			t.Fatalf("digit %d changed: %v", i, err)
		}
	}
	// A v1 file still reads, as legacy.
	v1 := fmt.Appendf(nil, "%s\n%x\n", keyHeaderV1, key.Seed())
	k1, legacy, err := ParseKey(v1)
	if err != nil || !legacy || !ed25519.PrivateKey(k1).Equal(key) {
		t.Fatalf("v1: %v legacy %v", err, legacy)
	}
	if _, _, err := ParseKey([]byte("hello\n")); err == nil {
		t.Fatal("a file that is no key was read")
	}
}
