package bench

import "syscall"

// threadCPU is the calling thread's CPU time in seconds (user + system),
// which contention from other processes inflates much less than wall time.
func threadCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru) != nil {
		return -1
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
