package envoy

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/spraywatch/spraywatch/ingest/timestamp"
)

// timeLayout is a compiled %START_TIME(...)% format: a sequence of literal
// bytes and conversion specifiers, read without allocating.
type timeLayout struct {
	steps  []timeStep
	spaces int // literal spaces, which a text format must skip to find the value's end
	// zoned: the layout writes the zone (%z, %Z, a literal Z, UTC or
	// GMT) or epoch seconds (%s): its times are not local times.
	zoned bool
}

type timeStep struct {
	spec byte // 0 for a literal
	lit  byte
	prec int // digits for %f / %Nf; 0 = as many as present
}

// compileTimeLayout compiles the strftime subset Envoy access logs use:
// %Y %m %d %e %H %M %S %T %F %b %z %Z(UTC/GMT only) %s, and Envoy's %f, %3f,
// %6f, %9f fractions.
func compileTimeLayout(s string) (*timeLayout, error) {
	l := &timeLayout{}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			l.steps = append(l.steps, timeStep{lit: c})
			if c == ' ' {
				l.spaces++
			}
			continue
		}
		i++
		if i >= len(s) {
			return nil, errors.New("time format ends with '%'")
		}
		prec := 0
		if s[i] >= '1' && s[i] <= '9' {
			prec = int(s[i] - '0')
			i++
			if i >= len(s) || s[i] != 'f' {
				return nil, fmt.Errorf("time format: a digit after %% must be followed by f")
			}
		}
		switch s[i] {
		case '%':
			l.steps = append(l.steps, timeStep{lit: '%'})
		case 'T':
			l.steps = append(l.steps, timeStep{spec: 'H'}, timeStep{lit: ':'}, timeStep{spec: 'M'}, timeStep{lit: ':'}, timeStep{spec: 'S'})
		case 'F':
			l.steps = append(l.steps, timeStep{spec: 'Y'}, timeStep{lit: '-'}, timeStep{spec: 'm'}, timeStep{lit: '-'}, timeStep{spec: 'd'})
		case 'Y', 'm', 'd', 'e', 'H', 'M', 'S', 'b', 'z', 'Z', 's', 'f':
			l.steps = append(l.steps, timeStep{spec: s[i], prec: prec})
			l.zoned = l.zoned || s[i] == 'z' || s[i] == 'Z' || s[i] == 's'
		default:
			return nil, fmt.Errorf("time format: %%%c is not supported", s[i])
		}
	}
	var lits []byte
	for _, st := range l.steps {
		if st.spec == 0 {
			lits = append(lits, st.lit)
		}
	}
	l.zoned = l.zoned || bytes.IndexByte(lits, 'Z') >= 0 || bytes.Contains(lits, []byte("UTC")) || bytes.Contains(lits, []byte("GMT"))
	return l, nil
}

var monthNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// skip returns the index in v past the spaces the layout itself writes (and
// the padding of %e), from where the text after the value can be looked for.
func (l *timeLayout) skip(v []byte) int {
	i := 0
	for range l.spaces {
		for i < len(v) && v[i] != ' ' {
			i++
		}
		for i < len(v) && v[i] == ' ' {
			i++
		}
	}
	return i
}

// parse reads v by the layout and returns Unix nanoseconds. The times of
// a layout that writes no zone (see timeLayout.zoned) are local times:
// they are read in z.
func (l *timeLayout) parse(v []byte, z *timestamp.Zone) (int64, error) {
	year, month, day, hour, min, sec, nsec, zone := 1970, 1, 1, 0, 0, 0, 0, 0
	epoch, hasEpoch := int64(0), false
	i := 0
	digits := func(n int, spaceOK bool) (int, error) {
		if i+n > len(v) {
			return 0, fmt.Errorf("time %q ends early", v)
		}
		x := 0
		for k := 0; k < n; k++ {
			c := v[i+k]
			if spaceOK && k == 0 && c == ' ' {
				continue
			}
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("time %q: expected a digit at byte %d", v, i+k+1)
			}
			x = x*10 + int(c-'0')
		}
		i += n
		return x, nil
	}
	var err error
	for _, st := range l.steps {
		if st.spec == 0 {
			if i >= len(v) || v[i] != st.lit {
				return 0, fmt.Errorf("time %q: expected %q at byte %d", v, st.lit, i+1)
			}
			i++
			continue
		}
		switch st.spec {
		case 'Y':
			year, err = digits(4, false)
		case 'm':
			month, err = digits(2, false)
		case 'd':
			day, err = digits(2, false)
		case 'e':
			day, err = digits(2, true)
		case 'H':
			hour, err = digits(2, false)
		case 'M':
			min, err = digits(2, false)
		case 'S':
			sec, err = digits(2, false)
		case 'b':
			month = 0
			if i+3 <= len(v) {
				for k, m := range monthNames {
					if string(v[i:i+3]) == m {
						month = k + 1
					}
				}
			}
			if month == 0 {
				return 0, fmt.Errorf("time %q: expected a month name at byte %d", v, i+1)
			}
			i += 3
		case 'f':
			n := st.prec
			if n == 0 {
				for n < 9 && i+n < len(v) && v[i+n] >= '0' && v[i+n] <= '9' {
					n++
				}
			}
			var f int
			f, err = digits(n, false)
			for k := n; k < 9; k++ {
				f *= 10
			}
			nsec = f
		case 's':
			start := i
			for i < len(v) && v[i] >= '0' && v[i] <= '9' && i-start < 12 {
				epoch = epoch*10 + int64(v[i]-'0')
				i++
			}
			if i == start {
				return 0, fmt.Errorf("time %q: expected epoch seconds at byte %d", v, i+1)
			}
			hasEpoch = true
		case 'z':
			if i >= len(v) {
				return 0, fmt.Errorf("time %q: expected a zone offset", v)
			}
			if v[i] == 'Z' {
				i++
				break
			}
			sign := 1
			switch v[i] {
			case '+':
			case '-':
				sign = -1
			default:
				return 0, fmt.Errorf("time %q: expected a zone offset at byte %d", v, i+1)
			}
			i++
			var hh, mm int
			if hh, err = digits(2, false); err == nil {
				if i < len(v) && v[i] == ':' {
					i++
				}
				mm, err = digits(2, false)
			}
			zone = sign * (hh*3600 + mm*60)
		case 'Z':
			switch {
			case i+3 <= len(v) && (string(v[i:i+3]) == "UTC" || string(v[i:i+3]) == "GMT"):
				i += 3
			default:
				return 0, fmt.Errorf("time %q: only UTC and GMT zone names are understood", v)
			}
		}
		if err != nil {
			return 0, err
		}
	}
	if i != len(v) {
		return 0, fmt.Errorf("time %q: unexpected text at byte %d", v, i+1)
	}
	if hasEpoch {
		return unix(v, epoch, nsec)
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 {
		return 0, fmt.Errorf("time %q: out of range", v)
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC)
	if t.Day() != day {
		return 0, fmt.Errorf("time %q: no such day", v)
	}
	if z != nil && !l.zoned {
		ns, err := z.Unix(t.Unix(), int64(nsec))
		if err != nil {
			return 0, fmt.Errorf("time %q: %w", v, err)
		}
		return ns, nil
	}
	return unix(v, t.Unix()-int64(zone), nsec)
}

// unix returns the Unix nanoseconds of sec and nsec, or an error naming v
// for an instant they cannot hold (before 1970, after 2262), as package
// timestamp rejects them.
func unix(v []byte, sec int64, nsec int) (int64, error) {
	ns, err := timestamp.Unix(sec, int64(nsec))
	if err != nil {
		return 0, fmt.Errorf("time %q: %w", v, err)
	}
	return ns, nil
}
