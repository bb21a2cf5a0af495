//go:build !linux

package matmul

func adviseHuge([]byte) {}
