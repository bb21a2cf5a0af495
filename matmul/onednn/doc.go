// Package onednn calls oneDNN's int8 GEMM (dnnl_gemm_s8s8s32, from Debian's
// libdnnl-dev) so that benchmarks can put trainproof's CPU backend side by
// side with the reference implementation on the same inputs, and tests can
// check that both produce the same int32 results. Everything is behind the
// build tag onednn (and cgo): go test -tags onednn ./matmul/onednn/.
package onednn
