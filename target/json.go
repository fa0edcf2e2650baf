package target

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Hand-rolled JSON for the hot answers (views, purchases): appends into one buffer, no maps,
// no reflection. Admin routes use encoding/json.

const timeLayout = "2006-01-02T15:04:05.000Z07:00" // RFC 3339 with milliseconds

func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				const hexd = "0123456789abcdef"
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// field appends `"name":` after a comma when needed.
func field(b []byte, name string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func fStr(b []byte, name, v string) []byte { return appendStr(field(b, name), v) }
func fInt(b []byte, name string, v int64) []byte {
	return strconv.AppendInt(field(b, name), v, 10)
}
func fFloat(b []byte, name string, v float64) []byte {
	return strconv.AppendFloat(field(b, name), v, 'f', -1, 64)
}
func fTime(b []byte, name string, t time.Time) []byte {
	b = append(field(b, name), '"')
	b = appendTime(b, t)
	return append(b, '"')
}

// appendTime writes t in UTC as 2006-01-02T15:04:05.000Z (RFC 3339), faster than AppendFormat.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, timeLayout)
	}
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append2(b, int(mo), '-')
	b = append2(b, d, 'T')
	b = append2(b, h, ':')
	b = append2(b, mi, ':')
	b = append2(b, s, '.')
	ms := t.Nanosecond() / 1e6
	return append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

func append2(b []byte, v int, sep byte) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10), sep)
}

// fTimeStr writes a time field, "" as null.
func fTimeStr(b []byte, name, v string) []byte {
	if v == "" {
		return append(field(b, name), "null"...)
	}
	return appendStr(field(b, name), v)
}
