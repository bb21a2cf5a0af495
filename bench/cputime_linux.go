package bench

import "golang.org/x/sys/unix"

// threadCPU is the calling thread's CPU time in seconds (−1 if unknown),
// which contention from other processes inflates much less than wall time.
// CLOCK_THREAD_CPUTIME_ID has nanosecond resolution, where getrusage
// counts scheduler ticks.
func threadCPU() float64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return -1
	}
	return float64(ts.Nano()) / 1e9
}

// processCPU is the whole process's CPU time in seconds (all threads), −1
// if unknown.
func processCPU() float64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts) != nil {
		return -1
	}
	return float64(ts.Nano()) / 1e9
}
