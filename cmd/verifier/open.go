package main

import (
	"fmt"
	"os"
)

// openRegular opens a file the verifier reads (a bundle, key, nonces or
// checkpoint file), refusing anything but a regular file before opening it:
// opening a FIFO would block until someone wrote to it.
func openRegular(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("not a regular file")}
	}
	return os.Open(path)
}
