package snark

import "github.com/consensys/gnark/logger"

// gnark logs every compile, prove and verify to stdout by default. A node
// that imports this package to check proofs must not get lines on its
// stdout it did not ask for, so the package silences gnark's global logger;
// a caller that wants gnark's logs sets logger.Set after importing.
func init() { logger.Disable() }
