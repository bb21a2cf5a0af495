package emu

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

func upload(t *testing.T, d *Device, b []byte) uintptr {
	p, err := d.Alloc(len(b))
	require.NoError(t, err)
	require.NoError(t, d.CopyHtoD(p, b))
	return p
}

// run launches a kernel and waits for it: the stream reports its failures at Sync.
func run(d *Device, kernel string, grid, block [3]int, smem int, args ...uint64) error {
	if err := d.Launch(kernel, grid, block, smem, args...); err != nil {
		return err
	}
	return d.Sync()
}

func download32(t *testing.T, d *Device, p uintptr, n int) []int32 {
	b := make([]byte, 4*n)
	require.NoError(t, d.CopyDtoH(b, p))
	require.NoError(t, d.Sync())
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// TestMmaKnownAnswer: distinct values placed by the PTX ISA fragment layout
// of mma.m16n8k32 (.s8) give D = A·B, with each lane's results where the
// layout says.
func TestMmaKnownAnswer(t *testing.T) {
	d := New(1 << 20)
	defer d.Close()
	var A [16][32]int8
	var Bt [8][32]int8
	a := make([]byte, 16*32)
	b := make([]byte, 8*32)
	for r := 0; r < 16; r++ {
		for c := 0; c < 32; c++ {
			A[r][c] = int8((r*37 + c*11) % 251)
			a[r*32+c] = byte(A[r][c])
		}
	}
	for n := 0; n < 8; n++ {
		for k := 0; k < 32; k++ {
			Bt[n][k] = int8((n*53 + k*7 + 3) % 249)
			b[n*32+k] = byte(Bt[n][k])
		}
	}
	pa, pb := upload(t, d, a), upload(t, d, b)
	pd, err := d.Alloc(16 * 8 * 4)
	require.NoError(t, err)
	pl, err := d.Alloc(32 * 4 * 4)
	require.NoError(t, err)
	require.NoError(t, run(d, "kat_mma", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, uint64(pa), uint64(pb), uint64(pd), uint64(pl)))
	D := download32(t, d, pd, 16*8)
	lanes := download32(t, d, pl, 32*4)
	for r := 0; r < 16; r++ {
		for c := 0; c < 8; c++ {
			var want int32
			for k := 0; k < 32; k++ {
				want += int32(A[r][k]) * int32(Bt[c][k])
			}
			require.Equal(t, want, D[r*8+c], "D[%d][%d]", r, c)
		}
	}
	// Lane l holds d_i at row l/4 + 8·(i/2), column 2·(l%4) + i%2.
	for l := 0; l < 32; l++ {
		for i := 0; i < 4; i++ {
			require.Equal(t, D[(l/4+8*(i/2))*8+2*(l%4)+i%2], lanes[l*4+i], "lane %d d%d", l, i)
		}
	}
}

func TestShflKnownAnswer(t *testing.T) {
	d := New(1 << 20)
	defer d.Close()
	p, err := d.Alloc(64 * 4)
	require.NoError(t, err)
	require.NoError(t, run(d, "kat_shfl", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, uint64(p)))
	out := download32(t, d, p, 64)
	for l := 0; l < 32; l++ {
		require.Equal(t, int32(((l+3)%32)*10), out[l])
		require.Equal(t, int32((l^5)*10), out[32+l])
	}
}

// TestLdmatrixKnownAnswer: ldmatrix .x1, .x2 and .x4 (PTX ISA "ldmatrix",
// m8n8 .b16) give lane l, of matrix i, the word at byte 4·(l%4) of the row
// whose address lane 8i + l/4 gave; the addresses of lanes past 8·N do not
// matter; a misaligned row address is an error naming the lane.
func TestLdmatrixKnownAnswer(t *testing.T) {
	d := New(1 << 20)
	defer d.Close()
	src := make([]byte, 512)
	for i := range src {
		src[i] = byte(i*29 + 7)
	}
	word := func(off int) uint32 { return binary.LittleEndian.Uint32(src[off:]) }
	ps := upload(t, d, src)
	po, err := d.Alloc(32 * 7 * 4)
	require.NoError(t, err)
	before := ReadStats()
	require.NoError(t, run(d, "kat_ldsm", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 512, uint64(ps), uint64(po), 0))
	st := ReadStats().Sub(before)
	out := download32(t, d, po, 32*7)
	// Rows (7j + 3) % 32 of 16 bytes: matrix i's eight rows fall in 16-byte
	// bank groups (7j + 3) % 8, all different, so one wavefront a matrix.
	require.Equal(t, uint64(1+2+4), st.LdsmMatrices)
	require.Equal(t, uint64(1+2+4), st.LdsmWavefronts)
	row := func(lane int) int { return 16 * ((7*lane + 3) % 32) }
	for l := 0; l < 32; l++ {
		for _, x := range []struct{ num, at int }{{1, 0}, {2, 1}, {4, 3}} {
			for i := 0; i < x.num; i++ {
				want := word(row(8*i+l/4) + 4*(l%4))
				require.Equal(t, want, uint32(out[7*l+x.at+i]), "ldmatrix .x%d lane %d r%d", x.num, l, i)
			}
		}
	}
	err = run(d, "kat_ldsm", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 512, uint64(ps), uint64(po), 1)
	require.ErrorContains(t, err, "ldmatrix row address misaligned")
	require.ErrorContains(t, err, "thread (5,0,0)")
	// Rows 64 bytes apart: banks 0–3 (and 16–19) serve four rows each.
	before = ReadStats()
	require.NoError(t, run(d, "kat_ldsm", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 512, uint64(ps), uint64(po), 2))
	st = ReadStats().Sub(before)
	require.Equal(t, uint64(7), st.LdsmMatrices)
	require.Equal(t, uint64(4*7), st.LdsmWavefronts)
}

// TestMissingWait: without cp.async.wait_group the copy has not landed and
// the kernel reads poison; with it, the data.
func TestMissingWait(t *testing.T) {
	d := New(1 << 20)
	defer d.Close()
	src := []byte("sixteen bytes!!!")
	ps := upload(t, d, src)
	pd, err := d.Alloc(16)
	require.NoError(t, err)
	got := make([]byte, 16)
	require.NoError(t, run(d, "missing_wait", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 16, uint64(ps), uint64(pd), 0))
	require.NoError(t, d.CopyDtoH(got, pd))
	require.NoError(t, d.Sync())
	require.NotEqual(t, src, got, "a copy that was never waited for must not land")
	require.Equal(t, byte(0xA5), got[0])
	require.NoError(t, run(d, "missing_wait", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 16, uint64(ps), uint64(pd), 1))
	require.NoError(t, d.CopyDtoH(got, pd))
	require.NoError(t, d.Sync())
	require.Equal(t, src, got)
}

func TestDetectors(t *testing.T) {
	d := New(1 << 20)
	defer d.Close()
	p, err := d.Alloc(64)
	require.NoError(t, err)
	err = run(d, "divergent_barrier", [3]int{2, 1, 1}, [3]int{64, 1, 1}, 0)
	require.ErrorContains(t, err, "divergent barrier")
	require.ErrorContains(t, err, "kernel divergent_barrier, block (0,0,0), thread (1,0,0)")
	err = run(d, "divergent_shfl", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, uint64(p))
	require.ErrorContains(t, err, "divergent warp collective")
	err = run(d, "smem_overrun", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 128, 128)
	require.ErrorContains(t, err, "shared memory written out of bounds")
	require.NoError(t, run(d, "smem_overrun", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 128, 127))
	err = run(d, "gmem_overrun", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, uint64(p), 64)
	require.ErrorContains(t, err, "wrote outside the allocation")
	err = run(d, "no_such_kernel", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0)
	require.ErrorContains(t, err, "no such kernel")
	err = run(d, "kat_shfl", [3]int{1, 1, 1}, [3]int{2048, 1, 1}, 0, uint64(p))
	require.ErrorContains(t, err, "bad launch")
}

// TestLocalOverrun: a kernel that writes one element past a local array
// (an off-by-one loop bound over an accumulator) computes the right answer
// (the stray write lands in its stack) and escapes every result check; the
// sanitizer build (-tags emusan) stops it with UBSan's bounds report. The
// overrun runs in a child process, since the report ends the process.
func TestLocalOverrun(t *testing.T) {
	if os.Getenv("EMU_LOCAL_OVERRUN_CHILD") == "1" {
		d := New(1 << 20)
		p, _ := d.Alloc(4)
		d.Launch("local_overrun", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, uint64(p), 5)
		d.Sync()
		return
	}
	d := New(1 << 20)
	defer d.Close()
	p, err := d.Alloc(4)
	require.NoError(t, err)
	require.NoError(t, run(d, "local_overrun", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, uint64(p), 4))
	require.Equal(t, []int32{1 + 2 + 3 + 4}, download32(t, d, p, 1))
	if !Sanitized {
		t.Skip("the overrun is caught only by the sanitizer build: go test -tags emusan")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLocalOverrun$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EMU_LOCAL_OVERRUN_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the overrun must stop the process:\n%s", out)
	require.Contains(t, string(out), "out of bounds", "%s", out)
	require.Contains(t, string(out), "selftest.cu", "the report names the kernel source:\n%s", out)
}

func TestMemory(t *testing.T) {
	d := New(1000)
	defer d.Close()
	_, err := d.Alloc(2000)
	require.ErrorIs(t, err, ErrOutOfMemory)
	p, err := d.Alloc(600)
	require.NoError(t, err)
	free, total := d.MemInfo()
	require.Equal(t, uint64(400), free)
	require.Equal(t, uint64(1000), total)
	require.Error(t, d.CopyHtoD(p+500, make([]byte, 200)), "copies cannot cross an allocation's end")
	require.NoError(t, d.Free(p))
	require.Error(t, d.Free(p))
}

// BenchmarkFiberSwitches: a barrier per iteration in a 256-thread block.
func BenchmarkLaunch(b *testing.B) {
	d := New(1 << 20)
	p, _ := d.Alloc(64 * 4)
	for b.Loop() {
		if err := run(d, "kat_shfl", [3]int{8, 1, 1}, [3]int{256, 1, 1}, 0, uint64(p)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(8*256*3*b.N)/b.Elapsed().Seconds(), "switches/s")
}

// TestStreamSemantics: work lands only when the stream is synchronised. A
// read-back buffer holds poison until Sync; a staging buffer is read when its
// copy runs, so changing it before Sync changes what lands; a failed kernel
// is reported by the next Sync, and later kernels do not run.
func TestStreamSemantics(t *testing.T) {
	d := New(1 << 20)
	defer d.Close()
	stage, err := d.HostAlloc(16)
	require.NoError(t, err)
	box, err := d.HostAlloc(16)
	require.NoError(t, err)
	p, err := d.Alloc(16)
	require.NoError(t, err)

	copy(stage, "first staged....")
	require.NoError(t, d.CopyHtoD(p, stage))
	copy(stage, "second staged...") // too early: the copy has not run
	require.NoError(t, d.CopyDtoH(box, p))
	require.Equal(t, bytes.Repeat([]byte{Poison}, 16), box, "a read-back before its Sync is poison")
	require.NoError(t, d.Sync())
	require.Equal(t, "second staged...", string(box), "the copy ran at Sync, with what the staging buffer held then")

	q, err := d.Alloc(64)
	require.NoError(t, err)
	require.NoError(t, d.Launch("gmem_overrun", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, uint64(q), 64))
	require.NoError(t, d.Launch("kat_shfl", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, uint64(p))) // not run: the stream failed
	require.ErrorContains(t, d.Sync(), "wrote outside the allocation")
	require.NoError(t, d.Sync(), "the failure is reported once")
	require.NoError(t, d.HostFree(stage))
	require.NoError(t, d.HostFree(box))
	require.Error(t, d.HostFree(box))
	c := d.Calls()
	require.Equal(t, 2, c.HostAlloc)
	require.Equal(t, 2, c.Alloc)
	require.Equal(t, 1, c.HtoD)
	require.Equal(t, 1, c.DtoH)
	require.Equal(t, 2, c.Launch)
	require.Equal(t, 3, c.Sync)
	require.Equal(t, map[string]int{"gmem_overrun": 1, "kat_shfl": 1}, c.Kernels)
}
