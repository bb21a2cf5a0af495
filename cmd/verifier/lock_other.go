//go:build !unix

package main

import (
	"errors"
	"os"
)

// lockFile refuses: without a lock, two beacons on one nonces file could
// issue two nonces for one step.
func lockFile(*os.File) error {
	return errors.New("verifier beacon needs file locking, which this build has only on unix systems")
}
