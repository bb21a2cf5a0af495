package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/internal/safefile"
	"github.com/seed46f70faa/trainproof/verifier"
)

// checkpointFile is the JSON form of a verifier.Checkpoint: --checkpoint
// reads it, and verify --json prints one per chain so that a node can resume.
type checkpointFile struct {
	TaskID  string   `json:"task_id"`
	Step    uint64   `json:"step"`
	Prev    string   `json:"prev"`
	Weights []string `json:"weights"`
}

// maxCheckpoint bounds a checkpoint file: a task has at most a few dozen
// layers, each one 64-digit root.
const maxCheckpoint = 1 << 20

func readCheckpoint(path string) (verifier.Checkpoint, error) {
	f, _, err := safefile.Open(path)
	if err != nil {
		return verifier.Checkpoint{}, err
	}
	defer f.Close()
	in, err := io.ReadAll(io.LimitReader(f, maxCheckpoint+1))
	if err != nil {
		return verifier.Checkpoint{}, err
	}
	if len(in) > maxCheckpoint {
		return verifier.Checkpoint{}, fmt.Errorf("%s: larger than %d bytes", path, maxCheckpoint)
	}
	cp, err := parseCheckpoint(in)
	if err != nil {
		return verifier.Checkpoint{}, fmt.Errorf("%s: %w", path, err)
	}
	return cp, nil
}

func parseCheckpoint(in []byte) (verifier.Checkpoint, error) {
	var cf checkpointFile
	d := json.NewDecoder(bytes.NewReader(in))
	d.DisallowUnknownFields()
	if err := d.Decode(&cf); err != nil {
		return verifier.Checkpoint{}, err
	}
	if d.More() {
		return verifier.Checkpoint{}, errors.New("trailing data after the checkpoint object")
	}
	var cp verifier.Checkpoint
	var err error
	if cp.TaskID, err = hex32(cf.TaskID); err != nil {
		return cp, fmt.Errorf("task_id: %w", err)
	}
	// Step 0 has no previous step to trust: a chain from step 0 needs no
	// checkpoint (Verify checks step 0 against the task's initial weights).
	if cf.Step == 0 {
		return cp, errors.New("step: a checkpoint starts at step 1 or later")
	}
	cp.Step = cf.Step
	if cp.Prev, err = hex32(cf.Prev); err != nil {
		return cp, fmt.Errorf("prev: %w", err)
	}
	if len(cf.Weights) == 0 {
		return cp, errors.New("weights: want the roots of M′ of step step−1, one per layer")
	}
	for i, w := range cf.Weights {
		h, err := hex32(w)
		if err != nil {
			return cp, fmt.Errorf("weights[%d]: %w", i, err)
		}
		cp.Weights = append(cp.Weights, commit.Hash(h))
	}
	return cp, nil
}

func checkpointJSON(cp verifier.Checkpoint) checkpointFile {
	cf := checkpointFile{TaskID: hex.EncodeToString(cp.TaskID[:]), Step: cp.Step, Prev: hex.EncodeToString(cp.Prev[:])}
	for _, w := range cp.Weights {
		cf.Weights = append(cf.Weights, hex.EncodeToString(w[:]))
	}
	return cf
}
