// Package par splits loops over the cores.
package par

import (
	"runtime"
	"sync"
)

// Range calls f on contiguous parts of [0, n), one part per worker, in
// parallel, and waits. workers ≤ 0 means one per core.
func Range(n, workers int, f func(lo, hi int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers <= 1 || n < 2 {
		f(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}
