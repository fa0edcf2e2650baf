package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration as written in scenario files: a Go duration ("1h30m",
// "250ms", "1.5s"), a number of seconds ("90", "0.25"), or "1d" style days ("1d12h").
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty duration (write 1h30m, 250ms or a number of seconds)")
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxDurationSeconds {
			return 0, fmt.Errorf("duration %q is out of range", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	var days time.Duration
	if i := strings.IndexByte(t, 'd'); i > 0 {
		n, err := strconv.Atoi(t[:i])
		if err == nil && n >= 0 && n <= 365*100 {
			days = time.Duration(n) * 24 * time.Hour
			t = t[i+1:]
			if t == "" {
				return days, nil
			}
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (write 1h30m, 250ms or a number of seconds)", s)
	}
	return days + d, nil
}

const maxDurationSeconds = 100 * 365 * 24 * 3600

// ParseNumber reads a number as written in scenario files: plain ("350000", "0.92", "1e6",
// "5_000_000"), with a metric suffix ("350k", "5M", "1.2G"), a percentage ("92%" is 0.92), and
// an optional rate unit ("2k/s", "2000rps") that is ignored.
func ParseNumber(s string) (float64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(t, "/s")
	t = strings.TrimSuffix(t, "rps")
	t = strings.TrimSpace(strings.ReplaceAll(t, "_", ""))
	if t == "" {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	mult := 1.0
	switch t[len(t)-1] {
	case '%':
		mult = 0.01
	case 'k', 'K':
		mult = 1e3
	case 'M':
		mult = 1e6
	case 'G':
		mult = 1e9
	}
	if mult != 1 {
		t = strings.TrimSpace(t[:len(t)-1])
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number (write 350000, 350k, 5M or 92%%)", s)
	}
	if mult == 0.01 {
		return f / 100, nil // 95% is exactly 0.95
	}
	if math.IsInf(f*mult, 0) {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return f * mult, nil
}

// ParseCount reads a whole number with the same forms as ParseNumber ("5M", "20k", "1_000").
func ParseCount(s string) (int64, error) {
	f, err := ParseNumber(s)
	if err != nil {
		return 0, err
	}
	if strings.HasSuffix(strings.TrimSpace(s), "%") || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return int64(f), nil
}

// ParseSize reads a size in bytes: "512", "64KB", "64KiB", "1.5MB", "2MiB", "1GB".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			mult, t = u.mult, strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f*mult > 1<<53 {
		return 0, fmt.Errorf("%q is not a size (write 512, 64KiB, 1.5MB)", s)
	}
	return int64(f * mult), nil
}

// formatRate prints a rate compactly: 350k, 2.5k, 60, 0.5.
func formatRate(r float64) string {
	switch {
	case r >= 1e6:
		return strconv.FormatFloat(r/1e6, 'f', -1, 64) + "M"
	case r >= 1e4:
		return strconv.FormatFloat(math.Round(r/100)/10, 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(math.Round(r*100)/100, 'f', -1, 64)
	}
}
