package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flashload/flashload/scenario"
)

func TestScenariosList(t *testing.T) {
	var out bytes.Buffer
	if err := scenariosListRun(&scenariosOptions{Out: &out}); err != nil {
		t.Fatal(err)
	}
	for _, n := range scenario.BundledNames() {
		if !strings.Contains(out.String(), n) {
			t.Errorf("list lacks %s:\n%s", n, out.String())
		}
	}
	if !strings.Contains(out.String(), "double-eleven (default)  24h       350k") {
		t.Errorf("list:\n%s", out.String())
	}
}

func TestScenariosShow(t *testing.T) {
	var out bytes.Buffer
	if err := scenariosShowRun(&scenariosOptions{Out: &out, Width: 60}, "double-eleven"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"played live in 1m0s (rate scale 0.01)",
		"2      midnight-spike",
		"30s        60        350k", // the spike plays in 30 s of wall time at compress 60
		"total arrivals: 3.08 billion at full scale (peak 350k/s); live 50363 (peak 3.5k/s)",
		"journey rusher (54%): view → think → purchase → pay",
		"sku phone-x: stock 20000 (live 200), price 3999", // the played stock (scenario.Play.StockScale)
		"sku catalogue: stock 2000000000 (live 20000000), price 199",
		"gate rate(pay_success) > 99.5%",
		"█",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := scenariosShowRun(&scenariosOptions{Out: &out, Wall: 120e9}, "double-eleven"); err != nil || !strings.Contains(out.String(), "played live in 2m0s") {
		t.Errorf("--wall 2m: %v\n%s", err, out.String())
	}
	if code := exitCode(scenariosShowRun(&scenariosOptions{Out: &out}, "no-such"), &out); code != exitUsage {
		t.Errorf("show of an unknown scenario: exit %d", code)
	}
}

func TestScenariosValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("skus: [{sku: x, price: 0}]\ntraffic: {stages: [{duration: 1s, rps: 1, shap: ramp}]}\njourneys: [{steps: [{view: {sku: y}}]}]\n"), 0o644)
	var out, stderr bytes.Buffer
	err := scenariosValidateRun(&scenariosOptions{Out: &out}, []string{"double-eleven", bad, "constant-2k"})
	if code := exitCode(err, &stderr); code != exitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{
		"3 problem(s)",
		bad + ":1:17: skus[0].price: must be > 0",
		bad + ":2:43: traffic.stages[0].shap: unknown key \"shap\" (did you mean \"shape\"?)",
		bad + ":3:29: journeys[0].steps[0].view.sku: unknown sku \"y\"",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if !strings.Contains(out.String(), "ok  double-eleven") || !strings.Contains(out.String(), "ok  constant-2k") {
		t.Errorf("stdout:\n%s", out.String())
	}
	out.Reset()
	if err := scenariosValidateRun(&scenariosOptions{Out: &out}, scenario.BundledNames()); err != nil {
		t.Errorf("bundled scenarios invalid: %v", err)
	}
}
