package verifier_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/verifier"
)

// TestResultDoesNotRetainBundle: a node keeps Results (to chain, to pay)
// and drops the bundles. A kept Result must not pin its input buffer: the
// decoded bundle aliases the buffer, so anything the Result keeps from it
// (the signer's key, roots, weights) must be copied. The buffer's finalizer
// runs only once nothing points into it.
func TestResultDoesNotRetainBundle(t *testing.T) {
	key := newKey(t)
	var kept []*verifier.Result
	freed := make(chan int, 2)
	for i, task := range []protocol.Task{
		matmulTask(64, 32, 48, 16, protocol.ModeFiatShamir),
		newTrainFixture(t, 4).task,
	} {
		var enc []byte
		if task.Work == protocol.WorkTrain {
			f := newTrainFixture(t, 4)
			bs := f.run(t, synthData, 1, bundle.Sampled, nil)
			var err error
			enc, err = bundle.Encode(bs[0], f.key)
			require.NoError(t, err)
		} else {
			_, enc = prove(t, matmulStep(t, task), bundle.Sampled, key, [32]byte{})
		}
		buf := make([]byte, len(enc)) // the node's read buffer
		copy(buf, enc)
		runtime.SetFinalizer(&buf[0], func(*byte) { freed <- i })
		b, err := bundle.Decode(buf, 0)
		require.NoError(t, err)
		r, err := verifier.Verify(b, verifier.Options{AnyTask: true, DatasetRoot: newTrainFixture(t, 4).opt.DatasetRoot})
		require.NoError(t, err)
		kept = append(kept, r)
	}
	got := map[int]bool{}
	deadline := time.After(10 * time.Second)
	for len(got) < 2 {
		runtime.GC()
		select {
		case i := <-freed:
			got[i] = true
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("input buffers still reachable from kept Results (freed: %v)", got)
		}
	}
	for _, r := range kept {
		require.Len(t, r.Signer, 32, "the Result still has its signer")
	}
}
