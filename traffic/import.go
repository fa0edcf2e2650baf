package traffic

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Formats an import reads.
const (
	FormatAuto       = "auto"       // guessed from the first line
	FormatNginx      = "nginx"      // NCSA combined or common log (nginx, Apache)
	FormatALB        = "alb"        // AWS Application or Classic Load Balancer log
	FormatPrometheus = "prometheus" // a /api/v1/query_range JSON answer
	FormatCSV        = "csv"        // timestamp,value rows, or a t,rps replay curve
)

// Formats lists the formats by name; apache and combined are other names of nginx.
var Formats = []string{FormatAuto, FormatNginx, FormatALB, FormatPrometheus, FormatCSV}

// ImportOptions says how to read history. Zero values take the defaults.
type ImportOptions struct {
	Format    string        // one of Formats (default auto)
	Step      time.Duration // the curve's interval (default: DefaultStep for logs, the history's own for CSV and Prometheus)
	Unit      string        // UnitRPS (default) or UnitCount: what a CSV or Prometheus value is
	Mix       bool          // access logs: count requests by method and route
	MaxRoutes int           // bound of the mix (default DefaultMaxRoutes)
}

// Import is an imported history: the curve, what the import saw, and the mix when asked for.
type Import struct {
	Series Series
	Native time.Duration // the history's own step (CSV, Prometheus); 0 for access logs
	Report Report
	Mix    *Mix
}

func (o ImportOptions) normalized() (ImportOptions, error) {
	switch strings.ToLower(o.Format) {
	case "", FormatAuto:
		o.Format = FormatAuto
	case FormatNginx, "apache", "combined", "common", "clf":
		o.Format = FormatNginx
	case FormatALB, "elb":
		o.Format = FormatALB
	case FormatPrometheus, "prom":
		o.Format = FormatPrometheus
	case FormatCSV:
		o.Format = FormatCSV
	default:
		return o, fmt.Errorf("--format %q: want one of %s", o.Format, strings.Join(Formats, ", "))
	}
	switch o.Unit {
	case "":
		o.Unit = UnitRPS
	case UnitRPS, UnitCount:
	default:
		return o, fmt.Errorf("--unit %q: want rps or count", o.Unit)
	}
	if o.Step < 0 || (o.Step > 0 && o.Step < time.Millisecond) {
		return o, fmt.Errorf("--step %v: want at least 1ms", o.Step)
	}
	return o, nil
}

// ImportFiles reads history from files ("-" is standard input), gzip-compressed or not. Several
// files of one format add up (a balancer writes one log every five minutes).
func ImportFiles(ctx context.Context, paths []string, opts ImportOptions) (*Import, error) {
	srcs := make([]source, 0, len(paths))
	for _, p := range paths {
		srcs = append(srcs, source{name: p, open: func() (io.ReadCloser, error) {
			if p == "-" {
				return io.NopCloser(os.Stdin), nil
			}
			return os.Open(p)
		}})
	}
	return importSources(ctx, srcs, opts)
}

// ImportReader reads history from one reader, named name in messages.
func ImportReader(ctx context.Context, r io.Reader, name string, opts ImportOptions) (*Import, error) {
	return importSources(ctx, []source{{name: name, open: func() (io.ReadCloser, error) { return io.NopCloser(r), nil }}}, opts)
}

type source struct {
	name string
	open func() (io.ReadCloser, error)
}

func importSources(ctx context.Context, srcs []source, opts ImportOptions) (*Import, error) {
	opts, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("no history to read")
	}
	imp := &Import{Report: Report{Format: opts.Format}}
	var b *buckets
	var rows []sample
	for _, src := range srcs {
		if err := func() error {
			rc, err := src.open()
			if err != nil {
				return err
			}
			defer rc.Close()
			r, err := decompress(rc)
			if err != nil {
				return fmt.Errorf("%s: %w", src.name, err)
			}
			if opts.Format == FormatAuto {
				head, _ := r.Peek(4096)
				opts.Format = sniff(head)
				imp.Report.Format = opts.Format
			}
			imp.Report.Files++
			switch opts.Format {
			case FormatNginx, FormatALB:
				if b == nil {
					b = newBuckets(cmpOr(opts.Step, DefaultStep), false)
					if opts.Mix {
						imp.Mix = NewMix(opts.MaxRoutes)
					}
				}
				var p logParser = &combined{}
				if opts.Format == FormatALB {
					p = &alb{}
				}
				return scanLog(ctx, r, src.name, p, b, imp.Mix, &imp.Report)
			case FormatPrometheus:
				rows, err = readPrometheus(r, src.name, &imp.Report, rows)
			default:
				cr := &countingReader{r: r}
				rows, err = readCSV(cr, src.name, &imp.Report, rows)
				imp.Report.Bytes += cr.n
			}
			return err
		}(); err != nil {
			return nil, err
		}
	}
	rep := &imp.Report
	if b != nil {
		if rep.Records == 0 {
			return nil, rep.nothingParsed()
		}
		imp.Series = b.series()
		for _, v := range imp.Series.Values {
			rep.Requests += v * imp.Series.Step.Seconds()
		}
		emptyRuns(imp.Series, rep)
		return imp, nil
	}
	if opts.Mix {
		return nil, fmt.Errorf("--mix needs an access log (nginx or alb), not %s", opts.Format)
	}
	if len(rows) == 0 {
		return nil, rep.nothingParsed()
	}
	imp.Series, imp.Native, err = toSeries(rows, opts.Step, opts.Unit, rep)
	if err != nil {
		return nil, err
	}
	if rep.Records == 0 {
		return nil, rep.nothingParsed()
	}
	for _, v := range imp.Series.Values {
		if v == v {
			rep.Requests += v * imp.Series.Step.Seconds()
		}
	}
	rep.Filled = imp.Series.Missing()
	return imp, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// decompress returns a buffered reader of r, gunzipped when r starts with gzip's magic bytes.
func decompress(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, readBuffer)
	if m, err := br.Peek(2); err == nil && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		return bufio.NewReaderSize(zr, readBuffer), nil
	}
	return br, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
