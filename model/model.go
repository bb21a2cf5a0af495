package model

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// TrainExamples is the size of the Fashion-MNIST training set that batch
// indices are drawn from.
const TrainExamples = 60000

// InputDim and Classes are Fashion-MNIST's image size and class count.
const (
	InputDim = 28 * 28
	Classes  = 10
)

// Limits checked by Validate (and so by every decoder of a task).
const (
	MaxDim    = 16384
	MaxBatch  = 65536
	MaxLayers = 16
)

// ErrConfig reports an invalid configuration.
var ErrConfig = errors.New("model: invalid config")

// Config is the quantized MLP and its training hyper-parameters. Every field
// is part of the task, so every field is bound into the task id.
type Config struct {
	Layers []int  // hidden layer sizes; dims are [784, Layers..., 10]
	Batch  int    // examples per step
	Seed   uint64 // initial weights and batch indices
	// InitAmp: initial int8 weights are uniform in [−InitAmp, InitAmp].
	InitAmp int
	// WeightShift: the int8 operand is the int32 master weight shifted right
	// by WeightShift (rounded, saturated to ±127).
	WeightShift int
	// LogitShift: logits in units of 1/16 bit are Z_L >> LogitShift.
	LogitShift int
	// GradShifts[l−1]: the hidden gradient G_l is D_l shifted right by this.
	GradShifts []int
	// LRShift: the update is M −= DW >> (LRShift + decay), where decay grows
	// by one every LRDecayEvery steps (0: never) up to LRMaxShift − LRShift.
	LRShift, LRMaxShift int
	LRDecayEvery        int
	// DecayShift: weight decay, M −= roundShift(M, DecayShift) each step (0: none).
	DecayShift int
}

// DefaultConfig is the tuned 784-256-128-10 network (see docs/BENCHMARKS.md
// for the accuracy it reaches).
func DefaultConfig() Config {
	return Config{
		Layers:       []int{256, 128},
		Batch:        128,
		Seed:         1,
		InitAmp:      32,
		WeightShift:  14,
		LogitShift:   7,
		GradShifts:   []int{8, 8},
		LRShift:      0,
		LRMaxShift:   6,
		LRDecayEvery: 600,
	}
}

// Dims returns [784, Layers..., 10].
func (c Config) Dims() []int {
	d := append([]int{InputDim}, c.Layers...)
	return append(d, Classes)
}

// Validate checks every field against its limit.
func (c Config) Validate() error {
	if len(c.Layers) > MaxLayers {
		return fmt.Errorf("%w: %d hidden layers > %d", ErrConfig, len(c.Layers), MaxLayers)
	}
	for _, d := range c.Layers {
		if d < 1 || d > MaxDim {
			return fmt.Errorf("%w: layer size %d not in [1, %d]", ErrConfig, d, MaxDim)
		}
	}
	if c.Batch < 1 || c.Batch > MaxBatch {
		return fmt.Errorf("%w: batch %d not in [1, %d]", ErrConfig, c.Batch, MaxBatch)
	}
	if c.InitAmp < 1 || c.InitAmp > 127 {
		return fmt.Errorf("%w: init amplitude %d not in [1, 127]", ErrConfig, c.InitAmp)
	}
	if c.WeightShift < 0 || c.WeightShift > 23 {
		return fmt.Errorf("%w: weight shift %d not in [0, 23]", ErrConfig, c.WeightShift)
	}
	if c.LogitShift < 0 || c.LogitShift > 31 {
		return fmt.Errorf("%w: logit shift %d not in [0, 31]", ErrConfig, c.LogitShift)
	}
	if len(c.GradShifts) != len(c.Layers) {
		return fmt.Errorf("%w: %d gradient shifts for %d hidden layers", ErrConfig, len(c.GradShifts), len(c.Layers))
	}
	for _, s := range c.GradShifts {
		if s < 0 || s > 31 {
			return fmt.Errorf("%w: gradient shift %d not in [0, 31]", ErrConfig, s)
		}
	}
	if c.LRShift < 0 || c.LRMaxShift < c.LRShift || c.LRMaxShift > 31 || c.LRDecayEvery < 0 || c.LRDecayEvery > math.MaxInt32 {
		return fmt.Errorf("%w: learning-rate shifts %d..%d every %d", ErrConfig, c.LRShift, c.LRMaxShift, c.LRDecayEvery)
	}
	if c.DecayShift < 0 || c.DecayShift > 31 {
		return fmt.Errorf("%w: decay shift %d not in [0, 31]", ErrConfig, c.DecayShift)
	}
	return nil
}

// AppendBinary appends the canonical encoding:
//
//	u8 hidden layer count h ‖ h × u32 size ‖ u32 batch ‖ u64 seed ‖ u8 init amplitude ‖
//	u8 weight shift ‖ u8 logit shift ‖ h × u8 gradient shift ‖ u8 lr shift ‖ u8 lr max shift ‖ u32 lr decay every ‖ u8 decay shift
func (c Config) AppendBinary(dst []byte) []byte {
	dst = append(dst, byte(len(c.Layers)))
	for _, d := range c.Layers {
		dst = binary.BigEndian.AppendUint32(dst, uint32(d))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.Batch))
	dst = binary.BigEndian.AppendUint64(dst, c.Seed)
	dst = append(dst, byte(c.InitAmp), byte(c.WeightShift), byte(c.LogitShift))
	for _, s := range c.GradShifts {
		dst = append(dst, byte(s))
	}
	dst = append(dst, byte(c.LRShift), byte(c.LRMaxShift))
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.LRDecayEvery))
	return append(dst, byte(c.DecayShift))
}

// ParseConfig decodes a configuration from the front of b, returning the
// bytes consumed. The result is validated, and re-encodes to the same bytes.
func ParseConfig(b []byte) (Config, int, error) {
	var c Config
	if len(b) < 1 {
		return c, 0, fmt.Errorf("%w: truncated", ErrConfig)
	}
	h := int(b[0])
	if h > MaxLayers {
		return c, 0, fmt.Errorf("%w: %d hidden layers > %d", ErrConfig, h, MaxLayers)
	}
	need := 1 + 4*h + 4 + 8 + 3 + h + 2 + 4 + 1
	if len(b) < need {
		return c, 0, fmt.Errorf("%w: truncated", ErrConfig)
	}
	off := 1
	for i := 0; i < h; i++ {
		c.Layers = append(c.Layers, int(binary.BigEndian.Uint32(b[off:])))
		off += 4
	}
	c.Batch = int(binary.BigEndian.Uint32(b[off:]))
	c.Seed = binary.BigEndian.Uint64(b[off+4:])
	off += 12
	c.InitAmp, c.WeightShift, c.LogitShift = int(b[off]), int(b[off+1]), int(b[off+2])
	off += 3
	for i := 0; i < h; i++ {
		c.GradShifts = append(c.GradShifts, int(b[off+i]))
	}
	off += h
	c.LRShift, c.LRMaxShift = int(b[off]), int(b[off+1])
	c.LRDecayEvery = int(binary.BigEndian.Uint32(b[off+2:]))
	c.DecayShift = int(b[off+6])
	off += 7
	if c.Layers == nil {
		c.Layers, c.GradShifts = []int{}, []int{}
	}
	if err := c.Validate(); err != nil {
		return Config{}, 0, err
	}
	return c, off, nil
}

// roundShift divides x by 2^s, rounding half away from zero; s < 0 shifts left.
func roundShift(x int64, s int) int64 {
	if s <= 0 {
		return x << uint(-s)
	}
	half := int64(1) << uint(s-1)
	if x >= 0 {
		return (x + half) >> uint(s)
	}
	return -((-x + half) >> uint(s))
}

func clamp(x, lo, hi int64) int64 {
	return max(lo, min(hi, x))
}

// InputRow maps pixels 0..255 to int8 0..127 (pixel >> 1).
func (c Config) InputRow(img []byte, out []int8) {
	for i, p := range img {
		out[i] = int8(p >> 1)
	}
}

// ViewRow is the int8 operand of master weights: clamp(roundShift(m, WeightShift), ±127).
func (c Config) ViewRow(m []int32, out []int8) {
	for i, x := range m {
		out[i] = int8(clamp(roundShift(int64(x), c.WeightShift), -127, 127))
	}
}

// masterLimit bounds master weights so the view never exceeds ±127 and the
// update cannot overflow.
func (c Config) masterLimit() int64 { return 127 << uint(c.WeightShift) }

// ActRow is ReLU followed by per-row normalisation to int8: with
// r = max(z, 0) and mx = max r, the shift is the smallest s ≥ −7 with
// roundShift(mx, s) ≤ 127 (s < 0 scales small rows up), and out = roundShift(r, s).
// A row of zeros stays zero. Row-local: it depends on this row only.
func (c Config) ActRow(layer int, z []int32, out []int8) {
	var mx int64
	for _, x := range z {
		mx = max(mx, int64(x))
	}
	s := -7
	for s < 32 && roundShift(mx, s) > 127 {
		s++
	}
	for i, x := range z {
		out[i] = int8(roundShift(max(int64(x), 0), s))
	}
}

// exp2Table[k] = round(2^16 · 2^(−k/16)), k = 0..15.
var exp2Table = [16]int64{65536, 62757, 60097, 57549, 55109, 52773, 50535, 48393, 46341, 44376, 42495, 40693, 38968, 37316, 35734, 34219}

// LossGradRow is the gradient of the softmax cross-entropy in int8:
// logits u = Z_L >> LogitShift (floor) in units of 1/16 bit; with
// d_j = max(u) − u_j, e_j = exp2Table[d_j mod 16] >> (d_j / 16) (0 when
// d_j ≥ 256), S = Σ e_j, out_j = ⌊(254·e_j + S) / (2S)⌋ − 127·[j = label],
// which is round(127·softmax_j) − 127·onehot_j, in [−127, 127].
func (c Config) LossGradRow(z []int32, label uint8, out []int8) {
	var e [256]int64
	if len(z) > len(e) {
		panic("model: more than 256 classes")
	}
	mx := int64(math.MinInt64)
	for _, x := range z {
		mx = max(mx, int64(x)>>uint(c.LogitShift))
	}
	var sum int64
	for j, x := range z {
		d := mx - int64(x)>>uint(c.LogitShift)
		if d < 256 {
			e[j] = exp2Table[d&15] >> uint(d>>4)
		}
		sum += e[j]
	}
	for j := range z {
		g := (254*e[j] + sum) / (2 * sum)
		if j == int(label) {
			g -= 127
		}
		out[j] = int8(g)
	}
}

// BackActRow is the hidden gradient: where Z_l > 0 (the ReLU passed),
// clamp(roundShift(d, GradShifts[l−1]), ±127); elsewhere 0.
func (c Config) BackActRow(layer int, d []int32, z []int32, out []int8) {
	s := c.GradShifts[layer-1]
	for i, x := range d {
		if z[i] > 0 {
			out[i] = int8(clamp(roundShift(int64(x), s), -127, 127))
		} else {
			out[i] = 0
		}
	}
}

// LRShiftAt is the learning-rate shift at a step.
func (c Config) LRShiftAt(step uint64) int {
	s := c.LRShift
	if c.LRDecayEvery > 0 {
		s += int(min(step/uint64(c.LRDecayEvery), uint64(c.LRMaxShift-c.LRShift)))
	}
	return s
}

// UpdateRow is SGD on the master weights:
// out = clamp(m − roundShift(dw, LRShiftAt(step)), ±(127 << WeightShift)).
func (c Config) UpdateRow(layer int, step uint64, m []int32, dw []int32, out []int32) {
	s := c.LRShiftAt(step)
	lim := c.masterLimit()
	for i := range m {
		x := int64(m[i]) - roundShift(int64(dw[i]), s)
		if c.DecayShift > 0 {
			x -= roundShift(int64(m[i]), c.DecayShift)
		}
		out[i] = int32(clamp(x, -lim, lim))
	}
}

// InitRow fills row j of layer l's initial master weights: int8 values
// uniform in [−InitAmp, InitAmp], shifted left by WeightShift. The values
// come from SHA-256("trainproof/v1/init" ‖ u64 seed ‖ u32 layer ‖ u32 row ‖
// u32 block) bytes by rejection sampling (a byte b is used when
// b < 256 − 256 mod (2·InitAmp+1), as b mod (2·InitAmp+1) − InitAmp).
func (c Config) InitRow(layer, j int, out []int32) {
	span := 2*c.InitAmp + 1
	limit := 256 - 256%span
	var buf [19 + 8 + 12]byte
	n := copy(buf[:], "trainproof/v1/init")
	binary.BigEndian.PutUint64(buf[n:], c.Seed)
	binary.BigEndian.PutUint32(buf[n+8:], uint32(layer))
	binary.BigEndian.PutUint32(buf[n+12:], uint32(j))
	k := 0
	for blk := uint32(0); k < len(out); blk++ {
		binary.BigEndian.PutUint32(buf[n+16:], blk)
		h := sha256.Sum256(buf[:n+20])
		for _, b := range h {
			if int(b) < limit && k < len(out) {
				out[k] = int32(int(b)%span-c.InitAmp) << uint(c.WeightShift)
				k++
			}
		}
	}
}

// SampleIndex is the training example of batch row i at a step: the first
// u64 of SHA-256("trainproof/v1/batch" ‖ u64 seed ‖ u64 step ‖ u32 i ‖ u32 try)
// below the largest multiple of 60 000, modulo 60 000 (try = 0, 1, … until one is).
func (c Config) SampleIndex(step uint64, i int) int {
	var buf [20 + 8 + 8 + 8]byte
	n := copy(buf[:], "trainproof/v1/batch")
	binary.BigEndian.PutUint64(buf[n:], c.Seed)
	binary.BigEndian.PutUint64(buf[n+8:], step)
	binary.BigEndian.PutUint32(buf[n+16:], uint32(i))
	const limit = math.MaxUint64 - (math.MaxUint64%TrainExamples+1)%TrainExamples
	for try := uint32(0); ; try++ {
		binary.BigEndian.PutUint32(buf[n+20:], try)
		h := sha256.Sum256(buf[:n+24])
		if x := binary.BigEndian.Uint64(h[:8]); x <= limit {
			return int(x % TrainExamples)
		}
	}
}

// FloatLoss is the cross-entropy (nats) of the integer softmax on one row
// of logits. For reporting only: no check depends on it.
func (c Config) FloatLoss(z []int32, label uint8) float64 {
	mx := math.Inf(-1)
	u := make([]float64, len(z))
	for j, x := range z {
		u[j] = float64(int64(x)>>uint(c.LogitShift)) / 16 * math.Ln2
		mx = math.Max(mx, u[j])
	}
	var s float64
	for _, x := range u {
		s += math.Exp(x - mx)
	}
	return math.Log(s) - (u[label] - mx)
}
