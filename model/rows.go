package model

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// roundShift divides x by 2^s rounding half away from zero; s ≤ 0 multiplies
// by 2^−s. Every caller has |x| ≤ 2^32 and −17 ≤ s ≤ 62, so nothing overflows.
func roundShift(x int64, s int) int64 {
	if s <= 0 {
		return x << uint(-s)
	}
	return roundShiftPos(x, uint(s))
}

// roundShiftPos is roundShift for s ≥ 1, without branches: round the
// magnitude half up, then restore the sign.
func roundShiftPos(x int64, s uint) int64 {
	sign := x >> 63 // 0 or −1
	ax := (x ^ sign) - sign
	r := (ax + 1<<(s-1)) >> s
	return (r ^ sign) - sign
}

func clamp(x, lo, hi int64) int64 {
	return max(lo, min(hi, x))
}

// InputRow maps the pixels of one image to an int8 input row:
// out_j = (img_j >> 1) − InputOffset, in [−127, 127] for every valid
// configuration (no rounding, no saturation needed).
func (c Config) InputRow(img []byte, out []int8) {
	off := int16(c.InputOffset)
	for i, p := range img {
		out[i] = int8(int16(p>>1) - off)
	}
}

// ViewRow is the int8 operand of master weights:
// out_j = clamp(roundShift(m_j, WeightShift), −127, 127).
func (c Config) ViewRow(m []int32, out []int8) {
	out = out[:len(m)]
	if c.WeightShift == 0 {
		for i, x := range m {
			out[i] = int8(clamp(int64(x), -127, 127))
		}
		return
	}
	s := uint(c.WeightShift)
	for i, x := range m {
		out[i] = int8(clamp(roundShiftPos(int64(x), s), -127, 127))
	}
}

// masterLimit bounds master weights, so that the view never exceeds ±127
// and updates cannot overflow int32 (127·2^23 < 2^31).
func (c Config) masterLimit() int64 { return 127 << uint(c.WeightShift) }

// ActShift is the per-row normalisation shift of a pre-activation row: with
// mx = max(0, max_j z_j), the smallest s ≥ −7 such that roundShift(mx, s) ≤ 127.
// It is at most 25 (roundShift(2^31 − 1, 25) = 64) and −7 for a row with no
// positive entry.
func ActShift(z []int32) int {
	var mx int64
	for _, x := range z {
		mx = max(mx, int64(x))
	}
	s := -7
	for roundShift(mx, s) > 127 {
		s++
	}
	return s
}

// ActRow is ReLU followed by per-row normalisation to int8:
// out_j = roundShift(max(z_j, 0), ActShift(z)), in [0, 127]. A row's
// largest positive entry maps to 64..127; a row with none maps to zeros.
// The layer number is not used (every hidden layer has the same rule).
func (c Config) ActRow(layer int, z []int32, out []int8) {
	s := ActShift(z)
	for i, x := range z {
		out[i] = int8(roundShift(max(int64(x), 0), s))
	}
}

// exp2Table[k] = round(2^16 · 2^(−k/16)), k = 0..15.
var exp2Table = [16]int64{65536, 62757, 60097, 57549, 55109, 52773, 50535, 48393, 46341, 44376, 42495, 40693, 38968, 37316, 35734, 34219}

// LossGradRow is the gradient of the softmax cross-entropy in int8. With
// logits u_j = z_j >> LogitShift (arithmetic shift, rounding toward −∞) in
// units of 1/16 bit, d_j = max(u) − u_j, e_j = exp2Table[d_j mod 16] >> ⌊d_j/16⌋
// (0 when d_j ≥ 256), S = Σ e_j:
//
//	out_j = ⌊(254·e_j + S) / (2S)⌋ − 127·[j = label]
//
// that is round-half-up(127·softmax_j) − 127·onehot_j, in [−127, 127].
// A label ≥ len(z) subtracts nothing. len(z) is at most 256.
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

// RefActShift is the reference normalisation shift of BackActRow: a row that
// ActRow shifted by RefActShift has its gradient shifted by exactly the
// layer's GradShift.
const RefActShift = 10

// BackActRow is the gradient through ActRow for hidden layer l: where
// z_j > 0 (the ReLU passed),
//
//	out_j = clamp(roundShift(d_j, ActShift(z) + GradShift(l) − RefActShift), −127, 127)
//
// and 0 elsewhere. Since ActRow scales row z by 2^−ActShift(z), this is the
// exact derivative of ActRow (up to the constant 2^(RefActShift − GradShift)),
// the normalisation being treated as a constant scale; it depends on row z
// only, like ActRow.
func (c Config) BackActRow(layer int, d []int32, z []int32, out []int8) {
	s := ActShift(z) + c.GradShift(layer) - RefActShift
	for i, x := range d {
		if z[i] > 0 {
			out[i] = int8(clamp(roundShift(int64(x), s), -127, 127))
		} else {
			out[i] = 0
		}
	}
}

// LRShiftAt is the learning-rate shift at a step:
// min(LRShift + ⌊step / LRDecayEvery⌋, LRMaxShift), or LRShift when
// LRDecayEvery is 0.
func (c Config) LRShiftAt(step uint64) int {
	s := c.LRShift
	if c.LRDecayEvery > 0 {
		s += int(min(step/uint64(c.LRDecayEvery), uint64(c.LRMaxShift-c.LRShift)))
	}
	return s
}

// UpdateRow is SGD on the master weights (the layer number is not used):
//
//	out_j = clamp(m_j − roundShift(dw_j, LRShiftAt(step)) − decay_j, −lim, lim)
//
// with decay_j = roundShift(m_j, DecayShift) when DecayShift > 0 (else 0) and
// lim = 127 << WeightShift, computed on int64 so nothing wraps.
func (c Config) UpdateRow(layer int, step uint64, m []int32, dw []int32, out []int32) {
	s := c.LRShiftAt(step)
	lim := c.masterLimit()
	dw, out = dw[:len(m)], out[:len(m)]
	switch {
	case c.DecayShift > 0:
		for i := range m {
			x := int64(m[i]) - roundShift(int64(dw[i]), s) - roundShiftPos(int64(m[i]), uint(c.DecayShift))
			out[i] = int32(clamp(x, -lim, lim))
		}
	case s > 0:
		for i := range m {
			out[i] = int32(clamp(int64(m[i])-roundShiftPos(int64(dw[i]), uint(s)), -lim, lim))
		}
	default:
		for i := range m {
			out[i] = int32(clamp(int64(m[i])-int64(dw[i]), -lim, lim))
		}
	}
}

// InitRow fills row j of layer l's initial master weights: int8 values
// uniform in [−InitAmp, InitAmp], shifted left by WeightShift. The values
// come from the bytes of SHA-256("trainproof/v1/init" ‖ u64 seed ‖ u32 layer ‖
// u32 row ‖ u32 block), block = 0, 1, …, by rejection sampling: with
// span = 2·InitAmp + 1, a byte b is used when b < 256 − 256 mod span, as
// b mod span − InitAmp.
func (c Config) InitRow(layer, j int, out []int32) {
	span := 2*c.InitAmp + 1
	limit := 256 - 256%span
	var buf [18 + 8 + 12]byte
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

// SampleIndex is the training example of batch row i at a step (sampling
// with replacement): the first u64 x of
// SHA-256("trainproof/v1/batch" ‖ u64 seed ‖ u64 step ‖ u32 i ‖ u32 try), for
// try = 0, 1, … until x < 2^64 − (2^64 mod 60 000), taken modulo 60 000.
func (c Config) SampleIndex(step uint64, i int) int {
	var buf [19 + 8 + 8 + 8]byte
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

// Argmax is the predicted class of a row of logits: the index of the largest
// entry, the lowest index on ties.
func Argmax(z []int32) int {
	best := 0
	for j, x := range z {
		if x > z[best] {
			best = j
		}
	}
	return best
}

// FloatLoss is the cross-entropy (nats) of the softmax that LossGradRow
// approximates, on one row of logits. It uses floating point and is for
// reporting only: no step and no check depends on it.
func (c Config) FloatLoss(z []int32, label uint8) float64 {
	mx := math.Inf(-1)
	var u [256]float64
	for j, x := range z {
		u[j] = float64(int64(x)>>uint(c.LogitShift)) / 16 * math.Ln2
		mx = math.Max(mx, u[j])
	}
	var s float64
	for j := range z {
		s += math.Exp(u[j] - mx)
	}
	return math.Log(s) - (u[label] - mx)
}
