package dashboard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flashload/flashload/result"
)

// scaledSnapshot is a live autoscaled fleet 40 scenario minutes in: decisions every 4 minutes,
// the prediction a period ahead on the way up and known for the whole run.
func scaledSnapshot() result.Snapshot {
	s := liveSnapshot()
	s.Replicas, s.DesiredReplicas, s.Autoscaler = 5, 6, "hpa: util 91% > 70% target"
	live := []int{2, 2, 3, 4, 6, 6, 6, 6, 6, 6}
	pred := []int{2, 3, 4, 6, 6, 6, 6, 6, 6, 6, 5, 4, 3, 2}
	for i, d := range live {
		s.Scale = append(s.Scale, result.ScalePoint{T: float64(240 * (i + 1)), Desired: d, Ready: d})
	}
	for i, d := range pred {
		s.PredictedScale = append(s.PredictedScale, result.ScalePoint{T: float64(240 * (i + 1)), Desired: d, Ready: d})
	}
	return s
}

// TestScaleLines: the dashboard draws the live decisions and the prediction up to now (not
// beyond), each ending with its latest desired replicas; golden at 140×45.
func TestScaleLines(t *testing.T) {
	m := testModel(scaledSnapshot(), 140, 45)
	got := ansi.Strip(m.scaleLines(40))
	lines := strings.Split(strings.TrimPrefix(got, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "live") || !strings.HasPrefix(lines[1], "predicted") {
		t.Fatalf("want a live and a predicted line:\n%s", got)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, " 6") || ansi.StringWidth(l) > 40 {
			t.Errorf("%q: want the latest desired replicas (6) at the end, within 40 cells", l)
		}
	}
	// Ten decisions up to 40 minutes: the prediction's later ones (5, 4, 3, 2) are not shown.
	if n := len([]rune(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(lines[1], "predicted"), "6")))); n != 10 {
		t.Errorf("predicted line %q has %d columns, want the 10 decisions up to now", lines[1], n)
	}
	s := scaledSnapshot()
	s.Scale = nil
	if got := testModel(s, 140, 45).scaleLines(40); got != "" {
		t.Errorf("lines without live decisions: %q", got)
	}

	view := ansi.Strip(m.View())
	checkSize(t, view, m.width, m.height)
	path := filepath.Join("testdata", "scaled-140x45.golden")
	if *update {
		if err := os.WriteFile(path, []byte(view), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if view != string(want) {
		t.Errorf("view differs from %s (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", path, view, want)
	}
}
