package scenario

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flashload/flashload/scenarios"
)

// Defaults filled in by Parse.
const (
	DefaultSeed      = 1
	DefaultUsers     = 1_000_000
	DefaultArrivals  = "poisson"
	DefaultModel     = "open"
	DefaultScenario  = "double-eleven" // what `flashload rehearse` plays without an argument
	maxScenarioBytes = 4 << 20
)

// Table is a CSV data file: a header of column names and rows of values.
type Table struct {
	Columns []string
	Rows    [][]string
}

// Column returns the index of a column, or -1.
func (t *Table) Column(name string) int {
	for i, c := range t.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// Info describes a bundled scenario.
type Info struct {
	Name        string
	Description string
	Duration    time.Duration // scenario time
	Peak        float64       // the curve's peak, arrivals per scenario second, before rate_scale
}

// Load reads a scenario by path, or by the name of a bundled scenario.
func Load(nameOrPath string) (*Scenario, error) {
	if data, err := os.ReadFile(nameOrPath); err == nil {
		return parse(nameOrPath, data, os.DirFS(filepath.Dir(nameOrPath)), filepath.Dir(nameOrPath))
	} else if strings.ContainsAny(nameOrPath, `/\`) || strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		return nil, fmt.Errorf("scenario %q: %w", nameOrPath, err)
	}
	data, err := fs.ReadFile(scenarios.FS, nameOrPath+".yaml")
	if err != nil {
		return nil, fmt.Errorf("no scenario file or bundled scenario named %q (bundled: %s)", nameOrPath, strings.Join(BundledNames(), ", "))
	}
	return parse("bundled:"+nameOrPath, data, scenarios.FS, "")
}

// Parse reads a scenario file. Relative files it names (traffic.replay, data.users) are read
// from the directory of filename. Every problem is reported at once, joined, each as
// `file:line:col: path: message` (a *FieldError).
func Parse(filename string, data []byte) (*Scenario, error) {
	dir := filepath.Dir(filename)
	return parse(filename, data, os.DirFS(dir), dir)
}

// BundledNames lists the bundled scenarios' names, sorted.
func BundledNames() []string {
	ents, _ := fs.ReadDir(scenarios.FS, ".")
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Bundled describes the bundled scenarios, sorted by name. A bundled file that does not parse
// is a bug caught by the tests; it is listed with its error as description.
func Bundled() []Info {
	var out []Info
	for _, n := range BundledNames() {
		s, err := Load(n)
		if err != nil {
			out = append(out, Info{Name: n, Description: "invalid: " + err.Error()})
			continue
		}
		in := Info{Name: n, Description: s.Description, Duration: s.Duration.D()}
		if c, err := s.Curve(); err == nil {
			in.Peak = c.Peak()
		}
		out = append(out, in)
	}
	return out
}

func parse(filename string, data []byte, fsys fs.FS, dir string) (*Scenario, error) {
	d := newDecoder(filename)
	s := &Scenario{}
	if len(data) > maxScenarioBytes {
		d.errAt(nil, "", "the file is larger than %d bytes", maxScenarioBytes)
		return nil, d.err()
	}
	d.decodeFile(data, s)
	if d.bad[""] {
		return nil, d.err()
	}
	s.File, s.Dir = filename, dir
	s.AbortGates = d.abortGates
	v := &validator{d: d, s: s, fsys: fsys}
	v.validate()
	if err := d.err(); err != nil {
		return nil, err
	}
	return s, nil
}

func (d *decoder) err() error {
	if len(d.problems) == 0 {
		return nil
	}
	sort.SliceStable(d.problems, func(i, j int) bool {
		a, b := d.problems[i], d.problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	errs := make([]error, len(d.problems), len(d.problems)+1)
	for i, p := range d.problems {
		errs[i] = p
	}
	if d.more > 0 {
		errs = append(errs, fmt.Errorf("%s: and %d more problems", d.file, d.more))
	}
	return errors.Join(errs...)
}

// readReplay reads a CSV of t,rps rows (t in seconds or a duration), with an optional header.
func readReplay(r io.Reader) ([]Point, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	var pts []Point
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		l, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return nil, fmt.Errorf("line %d: want two columns t,rps, got %d", l, len(rec))
		}
		if len(pts) == 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "t") {
			continue
		}
		t, err := ParseDuration(rec[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: t: %v", l, err)
		}
		rps, err := ParseNumber(rec[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: rps: %v", l, err)
		}
		if t < 0 || rps < 0 {
			return nil, fmt.Errorf("line %d: t and rps must be ≥ 0", l)
		}
		if n := len(pts); n > 0 && t <= pts[n-1].T {
			return nil, fmt.Errorf("line %d: t %v must be after %v", l, t, pts[n-1].T)
		}
		pts = append(pts, Point{T: t, RPS: rps})
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("no t,rps rows")
	}
	return pts, nil
}

// readTable reads a CSV with a header row.
func readTable(r io.Reader) (*Table, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("want a header row and at least one row")
	}
	t := &Table{Columns: recs[0], Rows: recs[1:]}
	seen := map[string]bool{}
	for _, c := range t.Columns {
		if c == "" || !isIdent(c) {
			return nil, fmt.Errorf("column %q: names are letters, digits and _", c)
		}
		if seen[c] {
			return nil, fmt.Errorf("column %q appears twice", c)
		}
		seen[c] = true
	}
	return t, nil
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func readFS(fsys fs.FS, dir, name string) ([]byte, error) {
	if filepath.IsAbs(name) {
		return os.ReadFile(name)
	}
	if dir != "" {
		return os.ReadFile(filepath.Join(dir, name))
	}
	if fsys == nil {
		return nil, fmt.Errorf("no directory to read %q from", name)
	}
	return fs.ReadFile(fsys, path.Clean(filepath.ToSlash(name)))
}

var _ = bytes.NewReader
var _ = strconv.Itoa
