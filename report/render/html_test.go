package render

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/result"
)

func TestWriteAllAndHTMLInChromium(t *testing.T) {
	dir := t.TempDir()
	run := faultFixture()
	run.FullScale = fixture("sim", 0.7).Summary
	run.Predicted = fixture("sim", 0.8).Summary
	if err := WriteAll(dir, run); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{result.SummaryFile, result.HistogramsFile, result.PredictedFile, result.FullScaleFile, HTMLFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	back, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Predicted == nil || back.FullScale == nil || back.Latency.TotalCount() != run.Summary.Requests.Total {
		t.Fatalf("read back: predicted %v, %d latencies", back.Predicted != nil, back.Latency.TotalCount())
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page, []byte("<script")) || bytes.Contains(page, []byte("http://www.w3.org/1999/xlink\" href")) {
		t.Error("the report should be self-contained, without scripts")
	}

	bin, err := exec.LookPath("chromium")
	if err != nil {
		if testenv.Required() {
			t.Fatalf("chromium is required under CI (scripts/test installs it): %v", err)
		}
		t.Skipf("chromium not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+filepath.Join(dir, HTMLFile))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	// The DOM chromium built (not our bytes): every chart is an <svg> with drawn paths and text.
	figures := regexp.MustCompile(`(?s)<figure class="chart" id="chart-([a-z0-9-]+)">.*?</figure>`).FindAllSubmatch(dom, -1)
	got := map[string]bool{}
	for _, f := range figures {
		body := string(f[0])
		if strings.Count(body, "<svg") != 1 || !strings.Contains(body, "<path") || !strings.Contains(body, "<text") {
			t.Errorf("chart %s did not render as SVG", f[1])
		}
		got[string(f[1])] = true
		// The measured time charts shade the run's two faults; the full-scale simulation's
		// and the spectrum have none.
		shades := strings.Count(body, `class="fault"`)
		measured := !strings.HasPrefix(string(f[1]), "full-") && string(f[1]) != "spectrum"
		if measured && (shades != 2 || !strings.Contains(body, "<title>fault redis:failover")) || !measured && shades != 0 {
			t.Errorf("chart %s: %d fault shades in the DOM", f[1], shades)
		}
	}
	for _, id := range []string{"rate", "latency", "errors", "stock-phone-x", "stock-catalogue", "replicas", "spectrum",
		"full-rate", "full-stock-phone-x", "full-spectrum"} {
		if !got[id] {
			t.Errorf("chart %s missing from the rendered DOM", id)
		}
	}
	for _, want := range []string{`id="faults"`, "network:store (latency 200ms, for 5m) at 600.0s, applied 600.0s, ended 900.0s: ok", `id="steps"`, `id="journeys"`, `id="skus"`, `id="fullscale"`, "simulated, not measured", "<title>achieved at "} {
		if !bytes.Contains(dom, []byte(want)) {
			t.Errorf("%s missing from the rendered DOM", want)
		}
	}
	if !bytes.Contains(dom, []byte(`id="gates"`)) || !bytes.Contains(dom, []byte("error_rate &lt; 0.1%")) {
		t.Error("gates table missing from the rendered DOM")
	}
}
