//go:build !linux

package bench

func threadCPU() float64 { return -1 }

func processCPU() float64 { return -1 }
