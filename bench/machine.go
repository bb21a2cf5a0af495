package bench

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/cpu"
)

// Machine describes where a report was measured.
type Machine struct {
	Model    string   `json:"model"`
	CPUs     int      `json:"cpus"`     // logical CPUs Go may use
	MemGiB   float64  `json:"mem_gib"`  // MemTotal
	Features []string `json:"features"` // the instruction-set extensions our kernels (and oneDNN) can use
	Missing  []string `json:"missing"`  // the same extensions, absent
	Load     string   `json:"load"`     // /proc/loadavg when the run started
	OneDNN   string   `json:"onednn"`   // oneDNN's status in this build
}

// feature is one extension, as golang.org/x/sys/cpu sees it (SHA-NI, which
// x/sys/cpu does not report on x86, from /proc/cpuinfo's flags).
type feature struct {
	name string
	has  bool
}

func features(flags map[string]bool) []feature {
	if runtime.GOARCH != "amd64" {
		return []feature{{"ASIMD", cpu.ARM64.HasASIMD}, {"SHA2", cpu.ARM64.HasSHA2}, {"SVE", cpu.ARM64.HasSVE}}
	}
	return []feature{
		{"AVX2", cpu.X86.HasAVX2},
		{"AVX-512F", cpu.X86.HasAVX512F},
		{"AVX-512BW", cpu.X86.HasAVX512BW},
		{"AVX-512 VNNI", cpu.X86.HasAVX512VNNI},
		{"AVX-VNNI", cpu.X86.HasAVXVNNI},
		{"AMX-INT8", cpu.X86.HasAMXInt8},
		{"AMX-TILE", cpu.X86.HasAMXTile},
		{"SHA-NI", flags["sha_ni"]},
		{"AES-NI", cpu.X86.HasAES},
	}
}

func cpuinfo() (model string, flags map[string]bool) {
	flags = map[string]bool{}
	model = runtime.GOARCH
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return
	}
	gotModel := false
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			if !gotModel {
				model, gotModel = strings.TrimSpace(v), true
			}
		case "flags":
			if len(flags) == 0 {
				for _, f := range strings.Fields(v) {
					flags[f] = true
				}
			}
		}
	}
	return
}

func memTotalGiB() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / (1 << 20)
			}
		}
	}
	return 0
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func thisMachine() Machine {
	model, flags := cpuinfo()
	m := Machine{Model: model, CPUs: runtime.NumCPU(), MemGiB: memTotalGiB(), Load: loadAvg(), OneDNN: oneDNNStatus()}
	for _, f := range features(flags) {
		if f.has {
			m.Features = append(m.Features, f.name)
		} else {
			m.Missing = append(m.Missing, f.name)
		}
	}
	return m
}

// memProbe measures one operation's memory: bytes the Go heap allocated
// during it, and the process's peak resident set above what it held before
// (Linux: the peak is reset through /proc/self/clear_refs, then read from
// VmHWM; elsewhere, or where the reset is refused, only allocations count).
type memProbe struct {
	alloc0 uint64
	rss0   int64
	reset  bool
}

func startMem() memProbe {
	var ms runtime.MemStats
	debug.FreeOSMemory() // so that RSS is what is live, and the peak shows what the operation adds
	runtime.ReadMemStats(&ms)
	p := memProbe{alloc0: ms.TotalAlloc}
	if os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil {
		p.reset = true
	}
	p.rss0 = procStatus("VmRSS:")
	return p
}

// stop returns (allocated bytes, peak RSS growth in bytes; −1 when unknown).
func (p memProbe) stop() (alloc uint64, peak int64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alloc = ms.TotalAlloc - p.alloc0
	peak = -1
	if p.reset && p.rss0 >= 0 {
		if h := procStatus("VmHWM:"); h >= 0 {
			peak = max(h-p.rss0, 0)
		}
	}
	return
}

// procStatus reads a kB field of /proc/self/status, in bytes (−1 if absent).
func procStatus(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return -1
}

// peakRSS is the process's peak resident set so far (VmHWM), in bytes.
func peakRSS() int64 { return procStatus("VmHWM:") }

func fmtBytes(b float64) string {
	switch {
	case b < 0:
		return "—"
	case b >= 1<<30:
		return strconv.FormatFloat(b/(1<<30), 'f', 2, 64) + " GiB"
	case b >= 1<<20:
		return strconv.FormatFloat(b/(1<<20), 'f', 1, 64) + " MiB"
	case b >= 1<<10:
		return strconv.FormatFloat(b/(1<<10), 'f', 1, 64) + " KiB"
	default:
		return strconv.FormatFloat(b, 'f', 0, 64) + " B"
	}
}
