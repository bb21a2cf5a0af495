package verifier

import (
	"errors"
	"fmt"
)

var (
	// ErrCheck is wrapped by every *CheckError: a product, a row function or
	// an opening did not hold.
	ErrCheck = errors.New("verifier: check failed")
	// ErrTask reports a bundle for another task than the one expected, or
	// for a data set other than the expected one.
	ErrTask = errors.New("verifier: wrong task")
	// ErrKey reports a bundle signed by a key that is not allowed.
	ErrKey = errors.New("verifier: signer not allowed")
	// ErrStale reports a bundle that does not extend the chain it is checked
	// against: wrong previous root, weights that are not the previous step's
	// output, a step out of order, or a beacon nonce other than the one issued.
	ErrStale = errors.New("verifier: stale bundle")
	// ErrReplay reports a step that the chain has already accepted.
	ErrReplay = errors.New("verifier: replayed bundle")
	// ErrMode reports a verification mode the bundle cannot support (full
	// mode needs a full-data bundle).
	ErrMode = errors.New("verifier: mode not supported by bundle")
)

// Reason says which kind of check failed, for callers that branch on it
// (CheckError.Check is the same, in words, for people).
type Reason uint8

// The checks a bundle can fail.
const (
	ReasonInitWeights  Reason = iota + 1 // a step-0 weight root is not the task's initial weights
	ReasonProduct                        // a Freivalds identity of a product
	ReasonOpening                        // a sampled row's Merkle opening
	ReasonRoot                           // a whole matrix does not hash to its root
	ReasonExample                        // a training example's opening against the data-set root
	ReasonInput                          // an input row is not its training example
	ReasonActivation                     // A_l = act(Z_l)
	ReasonLossGradient                   // G_L from the output and the labels
	ReasonGradient                       // G_l = backact(D_l, Z_l)
	ReasonView                           // W_l = view(M_l)
	ReasonUpdate                         // M′_l = update(M_l, DW_l)
)

var reasonNames = [...]string{"", "initial weights", "product", "opening", "root", "example",
	"input", "activation", "loss gradient", "gradient", "view", "update"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) && r != 0 {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// CheckError says which check failed, where.
type CheckError struct {
	Step    uint64
	Reason  Reason
	Matrix  string // the matrix whose row failed, or "" for a whole-step check
	Row     int    // the row, or -1
	Product string // the product being checked, if any
	Check   string // what was checked, in words
}

func (e *CheckError) Error() string {
	s := fmt.Sprintf("verifier: step %d: %s failed", e.Step, e.Check)
	if e.Product != "" {
		s += fmt.Sprintf(" in product %s", e.Product)
	}
	if e.Matrix != "" {
		s += fmt.Sprintf(" at matrix %s", e.Matrix)
		if e.Row >= 0 {
			s += fmt.Sprintf(" row %d", e.Row)
		}
	}
	return s
}

func (e *CheckError) Unwrap() error { return ErrCheck }
