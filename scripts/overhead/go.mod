module github.com/seed46f70faa/trainproof/scripts/overhead

go 1.26

require github.com/seed46f70faa/trainproof v0.0.0

require (
	github.com/klauspost/cpuid/v2 v2.0.12 // indirect
	golang.org/x/sys v0.47.0 // indirect
	lukechampine.com/blake3 v1.4.1 // indirect
)

replace github.com/seed46f70faa/trainproof => ../..
