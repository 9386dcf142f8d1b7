// Package jsonscan reads the scalar members of a one-line JSON object without
// building a tree and without allocating per line.
//
// It is made for JSON access and application logs: nested object keys are
// joined with dots ("log.level"), arrays are validated and skipped, and
// strings are unescaped into reusable scratch space. Bytes that are not
// valid UTF-8 are passed through as they are, because nginx's escape=json
// writes header bytes >= 0x80 unchanged.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf8"

	"github.com/spraywatch/spraywatch/ingest"
)

// Kind is the JSON type of a scalar value.
type Kind uint8

// Scalar kinds.
const (
	String Kind = iota + 1
	Number
	Bool
	Null
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "bool"
	case Null:
		return "null"
	}
	return "invalid"
}

// DefaultMaxDepth is the nesting limit when Scanner.MaxDepth is zero.
const DefaultMaxDepth = 32

// A Scanner reads JSON objects. Its scratch space is reused from one Scan to
// the next, so a Scanner is not safe for concurrent use. The zero value is
// ready to use.
type Scanner struct {
	// MaxDepth limits how deeply objects and arrays nest, counting the
	// outer object as 1. Zero means DefaultMaxDepth.
	MaxDepth int

	// Only, when not nil, leaves out the scalar members whose dotted
	// keys it does not hold: Scan still checks them but does not
	// unescape their strings or call fn for them. Nested objects are
	// entered whatever their keys, for the members inside them.
	Only *Keys

	key   []byte // dotted path of the current member
	val   []byte // unescaped string value
	bases []int  // key lengths of the enclosing objects
	skip  []byte // container stack while skipping an array ('{' or '[')
}

// Scan calls fn for each scalar member of the JSON object in line, in order.
// Keys of nested objects are joined with '.' (so {"a.b":1} and {"a":{"b":1}}
// both report the key "a.b"; an empty key is an empty part, so the member
// of {"":{"b":1}} is ".b", never the top-level "b"); arrays are checked and skipped
// whole; string values are unescaped (\uXXXX surrogate pairs become UTF-8,
// lone surrogates U+FFFD). For strings val holds the unescaped text; for
// numbers, booleans and null it holds the literal as written. key and val are
// valid until fn returns.
//
// A member may be reported before a later syntax error is found: fn sees the
// members in order and Scan returns the error at the end. If fn returns an
// error, scanning stops and Scan returns that error unchanged. Syntax errors
// are *ingest.SyntaxError values with Column set (1-based byte offset).
func (s *Scanner) Scan(line []byte, fn func(key, val []byte, kind Kind) error) error {
	maxDepth := s.MaxDepth
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	s.key = s.key[:0]
	s.bases = s.bases[:0]
	n := len(line)
	i := ws(line, 0)
	if i >= n || line[i] != '{' {
		return syntaxErr(i, "expected '{' to start a JSON object")
	}
	i++
	depth := 1
	var err error

	// After '{': a member or '}'.
	i = ws(line, i)
	if i < n && line[i] == '}' {
		i++
		goto objEnd
	}
member:
	{
		i = ws(line, i)
		if i >= n || line[i] != '"' {
			return syntaxErr(i, "expected '\"' to start an object key")
		}
		// key is the member's dotted path: in the line itself for the
		// common top-level key without escapes, else in s.key. A nested
		// member's key always has the dot after its object's, even an
		// empty one: the member "b" of the object under the key "" is
		// ".b", not the top-level "b".
		base := len(s.key)
		var key []byte
		if j := plainEnd(line, i+1); j < n && line[j] == '"' {
			if depth == 1 {
				key = line[i+1 : j]
			} else {
				s.key = append(append(s.key, '.'), line[i+1:j]...)
				key = s.key
			}
			i = j + 1
		} else {
			if depth > 1 {
				s.key = append(s.key, '.')
			}
			if s.key, i, err = appendString(append(s.key, line[i+1:j]...), line, j); err != nil {
				return err
			}
			key = s.key
		}
		i = ws(line, i)
		if i >= n || line[i] != ':' {
			return syntaxErr(i, "expected ':' after object key")
		}
		i = ws(line, i+1)
		if i >= n {
			return syntaxErr(i, "expected a value after ':'")
		}
		var kind Kind
		var val []byte
		report := s.Only == nil || s.Only.Has(key)
		switch c := line[i]; {
		case c == '"':
			start := i + 1
			j := plainEnd(line, start)
			if j < n && line[j] == '"' {
				val, i = line[start:j], j+1
			} else if !report {
				if i, err = skipString(line, j); err != nil {
					return err
				}
			} else if s.val, i, err = appendString(append(s.val[:0], line[start:j]...), line, j); err != nil {
				return err
			} else {
				val = s.val
			}
			kind = String
		case c == '{':
			if depth++; depth > maxDepth {
				return syntaxErr(i, "expected objects and arrays nested at most "+strconv.Itoa(maxDepth)+" deep")
			}
			if depth == 2 && len(s.key) == 0 {
				// The prefix of the members: a top-level key
				// without escapes is still in the line.
				s.key = append(s.key, key...)
			}
			s.bases = append(s.bases, base)
			i = ws(line, i+1)
			if i < n && line[i] == '}' {
				i++
				goto objEnd
			}
			goto member
		case c == '[':
			if i, err = s.skipArray(line, i, depth, maxDepth); err != nil {
				return err
			}
			s.key = s.key[:base]
			goto afterValue
		case c == '-' || c >= '0' && c <= '9':
			j, err := number(line, i)
			if err != nil {
				return err
			}
			val, i, kind = line[i:j], j, Number
		case c == 't':
			if i, err = literal(line, i, "true"); err != nil {
				return err
			}
			val, kind = line[i-4:i], Bool
		case c == 'f':
			if i, err = literal(line, i, "false"); err != nil {
				return err
			}
			val, kind = line[i-5:i], Bool
		case c == 'n':
			if i, err = literal(line, i, "null"); err != nil {
				return err
			}
			val, kind = line[i-4:i], Null
		default:
			return syntaxErr(i, "expected a JSON value after ':'")
		}
		if report {
			if err := fn(key, val, kind); err != nil {
				return err
			}
		}
		s.key = s.key[:base]
	}
afterValue:
	i = ws(line, i)
	if i < n {
		switch line[i] {
		case ',':
			i++
			goto member
		case '}':
			i++
			goto objEnd
		}
	}
	return syntaxErr(i, "expected ',' or '}' after object member")
objEnd:
	depth--
	if depth == 0 {
		if i = ws(line, i); i != n {
			return syntaxErr(i, "expected the end of the line after the JSON object")
		}
		return nil
	}
	s.key = s.key[:s.bases[len(s.bases)-1]]
	s.bases = s.bases[:len(s.bases)-1]
	goto afterValue
}

// Keys is a set of member keys for Scanner.Only, written with dots for
// nested objects as Scan reports them. Its test is cheap and may answer yes
// for some keys that were not added (it looks at a key's first byte and
// length only), so fn still compares the keys it is given. The zero value
// is an empty set; a set is safe for concurrent use once filled.
type Keys struct {
	empty   bool
	byFirst [256]uint64 // bit len%64 for each first byte
}

// Add puts key in the set.
func (k *Keys) Add(key string) {
	if key == "" {
		k.empty = true
		return
	}
	k.byFirst[key[0]] |= 1 << (len(key) & 63)
}

// Has reports whether key may be in the set: false means it is not.
func (k *Keys) Has(key []byte) bool {
	if len(key) == 0 {
		return k.empty
	}
	return k.byFirst[key[0]]>>(len(key)&63)&1 != 0
}

// skipArray checks the array starting at line[i] and returns the index
// after it. depth is the nesting depth of the array's parent.
func (s *Scanner) skipArray(line []byte, i, depth, maxDepth int) (int, error) {
	n := len(line)
	s.skip = s.skip[:0]
	var err error
	// open pushes a container and reports whether it is empty.
	open := func(c byte) error {
		if depth+len(s.skip) >= maxDepth {
			return syntaxErr(i, "expected objects and arrays nested at most "+strconv.Itoa(maxDepth)+" deep")
		}
		s.skip = append(s.skip, c)
		i++
		return nil
	}
	if err = open('['); err != nil {
		return i, err
	}
	i = ws(line, i)
	if i < n && line[i] == ']' {
		s.skip = s.skip[:0]
		return i + 1, nil
	}
	for {
		// A value, which in an object is preceded by a key.
		i = ws(line, i)
		if s.skip[len(s.skip)-1] == '{' {
			if i >= n || line[i] != '"' {
				return i, syntaxErr(i, "expected '\"' to start an object key")
			}
			if i, err = skipString(line, i+1); err != nil {
				return i, err
			}
			i = ws(line, i)
			if i >= n || line[i] != ':' {
				return i, syntaxErr(i, "expected ':' after object key")
			}
			i = ws(line, i+1)
		}
		if i >= n {
			return i, syntaxErr(i, "expected a JSON value")
		}
		switch c := line[i]; {
		case c == '"':
			i, err = skipString(line, i+1)
		case c == '{' || c == '[':
			if err = open(c); err != nil {
				return i, err
			}
			i = ws(line, i)
			if i < n && (c == '{' && line[i] == '}' || c == '[' && line[i] == ']') {
				s.skip = s.skip[:len(s.skip)-1]
				i++
				break
			}
			continue
		case c == '-' || c >= '0' && c <= '9':
			i, err = number(line, i)
		case c == 't':
			i, err = literal(line, i, "true")
		case c == 'f':
			i, err = literal(line, i, "false")
		case c == 'n':
			i, err = literal(line, i, "null")
		default:
			err = syntaxErr(i, "expected a JSON value")
		}
		if err != nil {
			return i, err
		}
		// After a value: ',' or the end of one or more containers.
		for {
			i = ws(line, i)
			top := s.skip[len(s.skip)-1]
			if i < n && line[i] == ',' {
				i++
				break
			}
			if i < n && (top == '[' && line[i] == ']' || top == '{' && line[i] == '}') {
				i++
				s.skip = s.skip[:len(s.skip)-1]
				if len(s.skip) == 0 {
					return i, nil
				}
				continue
			}
			if top == '[' {
				return i, syntaxErr(i, "expected ',' or ']' after array element")
			}
			return i, syntaxErr(i, "expected ',' or '}' after object member")
		}
	}
}

// plain marks the bytes that stand for themselves inside a JSON string: not
// the quote, the backslash or a control character.
var plain = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// Masks for testing the eight bytes of a word at once.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainEnd returns the index of the first byte of b at or after i that is
// not plain (a quote, a backslash or a control character), or len(b). It
// tests eight bytes at a time: (v-ones*c)&^v&highs sets the high bit of the
// bytes of v below c (c <= 0x80). Bytes above the first such byte may be
// flagged by the borrow too, but the lowest flagged byte is always exact.
// Flipping bit 1 turns the quote (0x22) into 0x20 and keeps the control
// characters below 0x20, so one test below 0x21 finds both; the backslash
// is the byte that becomes zero when xored with itself.
func plainEnd(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (ones * 0x02)
		e := x ^ (ones * '\\')
		m := ((q-ones*0x21)&^q | (e-ones)&^e) & highs
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

func syntaxErr(i int, msg string) error {
	return &ingest.SyntaxError{Column: i + 1, Msg: msg}
}

func ws(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, syntaxErr(i, "expected "+lit)
	}
	return i + len(lit), nil
}

// number checks the JSON number at b[i:] and returns the index after it.
func number(b []byte, i int) (int, error) {
	n := len(b)
	if b[i] == '-' {
		i++
	}
	switch {
	case i < n && b[i] == '0':
		i++
	case i < n && b[i] >= '1' && b[i] <= '9':
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return i, syntaxErr(i, "expected a digit in number")
	}
	if i < n && b[i] == '.' {
		i++
		if i >= n || b[i] < '0' || b[i] > '9' {
			return i, syntaxErr(i, "expected a digit after the decimal point")
		}
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n || b[i] < '0' || b[i] > '9' {
			return i, syntaxErr(i, "expected a digit in the exponent")
		}
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i, nil
}

func hex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendString unescapes the JSON string whose body starts at b[i] onto dst
// and returns the index after the closing quote.
func appendString(dst, b []byte, i int) ([]byte, int, error) {
	n := len(b)
	for {
		start := i
		i = plainEnd(b, i)
		dst = append(dst, b[start:i]...)
		if i >= n {
			return dst, i, syntaxErr(i, "expected '\"' to end the string")
		}
		switch b[i] {
		case '"':
			return dst, i + 1, nil
		case '\\':
		default:
			return dst, i, syntaxErr(i, "expected no control characters in a string")
		}
		i++
		if i >= n {
			return dst, i, syntaxErr(i, "expected an escape character after '\\'")
		}
		c := b[i]
		i++
		switch c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(b, i)
			if !ok {
				return dst, i, syntaxErr(i, "expected four hex digits after \\u")
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 {
				// A high surrogate: a low one must follow to make a pair.
				if n-i >= 6 && b[i] == '\\' && b[i+1] == 'u' {
					if lo, ok := hex4(b, i+2); ok && lo >= 0xDC00 && lo < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, i - 1, syntaxErr(i-1, "expected one of \"\\/bfnrtu after '\\'")
		}
	}
}

// skipString checks the JSON string whose body starts at b[i] and returns
// the index after the closing quote.
func skipString(b []byte, i int) (int, error) {
	n := len(b)
	for i < n {
		if i = plainEnd(b, i); i >= n {
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= n {
				return i + 1, syntaxErr(i+1, "expected an escape character after '\\'")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(b, i+2); !ok {
					return i + 2, syntaxErr(i+2, "expected four hex digits after \\u")
				}
				i += 6
			default:
				return i + 1, syntaxErr(i+1, "expected one of \"\\/bfnrtu after '\\'")
			}
		case c < 0x20:
			return i, syntaxErr(i, "expected no control characters in a string")
		default:
			i++
		}
	}
	return i, syntaxErr(i, "expected '\"' to end the string")
}
