package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseNonces(t *testing.T) {
	n, c := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	for _, tc := range []struct {
		in     string
		dashOK bool
		ok     bool
	}{
		{"", false, true},
		{"# a comment\n\n0 " + n + " " + c + "\n  \n1 " + n + " " + c, false, true},
		{"0 " + n + " -", true, true},
		{"0 " + n + " -", false, false},
		{"0 " + n, false, false},
		{"0 " + n + " " + c + " extra", false, false},
		{"-1 " + n + " " + c, false, false},
		{"0 " + n[:62] + " " + c, false, false},
		{"0 " + n + " " + c + "00", false, false},
		{"0 " + n + " " + c + "\n0 " + c + " " + n, false, false},
		{"0 " + n + " -\n0 " + n + " -", true, false},
	} {
		_, err := parseNonces(strings.NewReader(tc.in), tc.dashOK)
		require.Equal(t, tc.ok, err == nil, "%q: %v", tc.in, err)
	}
}

func TestNonceLookup(t *testing.T) {
	n, c := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	nb, err := parseNonces(strings.NewReader("3 "+n+" "+c+"\n"), false)
	require.NoError(t, err)
	want, _ := hex32(n)
	commitment, _ := hex32(c)
	got, ok := nb.lookup([32]byte{}, 3, commitment)
	require.True(t, ok)
	require.Equal(t, want, got)
	_, ok = nb.lookup([32]byte{}, 3, [32]byte{1})
	require.False(t, ok, "a nonce issued for another commitment")
	_, ok = nb.lookup([32]byte{}, 4, commitment)
	require.False(t, ok, "no nonce issued for the step")
}

func TestCommitmentStep(t *testing.T) {
	for name, want := range map[string]int64{
		"step-000000.commitment":      0,
		"step-000042.commitment":      42,
		"step-1234567.commitment":     1234567,
		"step-42.commitment":          -1, // not the prover's spelling
		"step-0000042.commitment":     -1,
		"step-000042.nonce":           -1,
		".step-000042.commitment.123": -1,
		"step-+00042.commitment":      -1,
	} {
		s, ok := commitmentStep(name)
		require.Equal(t, want >= 0, ok, name)
		if ok {
			require.Equal(t, uint64(want), s, name)
		}
	}
}
