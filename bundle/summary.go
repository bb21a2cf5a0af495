package bundle

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/seed46f70faa/trainproof/protocol"
)

// Summary is the JSON view of a bundle: what a person or a dashboard wants
// to see, not enough to verify.
type Summary struct {
	Version     uint16   `json:"version"`
	Variant     string   `json:"variant"`
	Work        string   `json:"work"`
	TaskID      string   `json:"task_id"`
	Mode        string   `json:"mode"`
	Samples     uint32   `json:"samples"`
	Step        uint64   `json:"step"`
	Prev        string   `json:"prev_root"`
	StepRoot    string   `json:"step_root"`
	Matrices    []string `json:"matrices"`
	MatrixRoots []string `json:"matrix_roots"`
	Products    []string `json:"products"`
	Nonce       string   `json:"nonce,omitempty"`
	Signer      string   `json:"signer"`
	Bytes       int      `json:"bytes,omitempty"`
}

// Summary describes the bundle.
func (b *Bundle) Summary() Summary {
	id := b.Task.ID()
	root := protocol.StepRoot(id, b.Step, b.Prev, b.Roots)
	s := Summary{Version: Version, Variant: b.Variant.String(), Work: b.Task.Work.String(), TaskID: hex.EncodeToString(id[:]),
		Mode: b.Task.Mode.String(), Samples: b.Task.Samples, Step: b.Step, Prev: hex.EncodeToString(b.Prev[:]),
		StepRoot: hex.EncodeToString(root[:]), Signer: hex.EncodeToString(b.PublicKey)}
	if plan, err := protocol.NewPlan(b.Task); err == nil {
		for i, m := range plan.Matrices {
			s.Matrices = append(s.Matrices, fmt.Sprintf("%s %v %d×%d", m.Name, m.Kind, m.Rows, m.Cols))
			s.MatrixRoots = append(s.MatrixRoots, hex.EncodeToString(b.Roots[i][:]))
		}
		for _, p := range plan.Products {
			s.Products = append(s.Products, p.Name)
		}
	}
	if b.Task.Mode == protocol.ModeBeacon {
		s.Nonce = hex.EncodeToString(b.Nonce[:])
	}
	return s
}

// ReadFile reads and decodes a bundle file of at most limit bytes (0 means
// MaxSize), refusing larger files before reading them.
func ReadFile(path string, limit int) (*Bundle, int, error) {
	if limit <= 0 {
		limit = MaxSize
	}
	f, size, err := open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if size > int64(limit) {
		return nil, 0, fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrTooLarge, path, size, limit)
	}
	// One buffer of the file's size: io.ReadAll would grow by doubling and
	// hold up to twice the file at its peak.
	buf := make([]byte, size)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, 0, fmt.Errorf("%s: %w (was it truncated while being read?)", path, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return nil, 0, fmt.Errorf("%w: %s grew while being read", ErrFormat, path)
	}
	b, err := Decode(buf, limit)
	return b, len(buf), err
}
