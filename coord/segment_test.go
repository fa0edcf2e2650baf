package coord

import (
	"testing"

	"github.com/flashload/flashload/scenario"
)

// TestParseSegment: auto/N takes I from JOB_COMPLETION_INDEX (0-based); I/N is as before.
func TestParseSegment(t *testing.T) {
	t.Setenv(IndexEnv, "2")
	if g, err := ParseSegment("auto/3"); err != nil || g != (scenario.Segment{I: 3, N: 3}) {
		t.Errorf("auto/3 with index 2 = %v, %v", g, err)
	}
	if g, err := ParseSegment("2/4"); err != nil || g != (scenario.Segment{I: 2, N: 4}) {
		t.Errorf("2/4 = %v, %v", g, err)
	}
	for _, idx := range []string{"3", "-1", "x"} {
		t.Setenv(IndexEnv, idx)
		if g, err := ParseSegment("auto/3"); err == nil {
			t.Errorf("auto/3 with index %q accepted as %v", idx, g)
		}
	}
}

func FuzzParseSegment(f *testing.F) {
	for _, s := range []string{"auto/3", "1/2", "auto/", "auto/0", "auto/x"} {
		f.Add(s, "1")
	}
	f.Fuzz(func(t *testing.T, spec, idx string) {
		t.Setenv(IndexEnv, idx)
		g, err := ParseSegment(spec)
		if err == nil && (g.N < 1 || g.I < 1 || g.I > g.N) {
			t.Fatalf("ParseSegment(%q) with index %q = %v", spec, idx, g)
		}
	})
}
