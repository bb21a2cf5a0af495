module github.com/seed46f70faa/trainproof

go 1.26
