package ingest

import "sync/atomic"

// A Flag is why a parser kept a line but flagged it: the line was read (or
// dropped) in a way its reader should know about. The set is fixed, so
// that the counters are an array and the metric's labels bounded.
type Flag uint8

const (
	// FlagAmbiguous: a django-axes client string whose username or
	// address was left empty, a repeated key making it ambiguous
	// (client-typed text could have supplied it).
	FlagAmbiguous Flag = iota
	// FlagMasked: a django-axes line with a masked value (the username
	// or address hidden by AXES_SENSITIVE_PARAMETERS), left empty.
	FlagMasked
	// FlagCertHeaderIgnored: a Traefik line with a certificate header
	// (X-Forwarded-Tls-Client-Cert or -Info) that disagrees with
	// TLSClientSubject or comes without it: sent by the client.
	FlagCertHeaderIgnored
	// FlagSplitUnjoined: a line a container runtime split whose parts
	// were dropped unjoined, another writer's entry coming before its end
	// (or its next part over the length cap, or the log ending first).
	FlagSplitUnjoined
	// FlagSplitHeadless: the end of a split line whose head was dropped,
	// rejected rather than read as a line of its own.
	FlagSplitHeadless
	// FlagSeveralSelf: an ALB request whose trace_id holds several Self
	// fields (client-sent), read without a request id.
	FlagSeveralSelf

	// NumFlags is the number of flags.
	NumFlags
)

var flagNames = [NumFlags]string{
	FlagAmbiguous:         "ambiguous",
	FlagMasked:            "masked",
	FlagCertHeaderIgnored: "cert_header_ignored",
	FlagSplitUnjoined:     "split_unjoined",
	FlagSplitHeadless:     "split_headless",
	FlagSeveralSelf:       "several_self",
}

// String returns the flag's name, the metric's reason label.
func (f Flag) String() string {
	if f < NumFlags {
		return flagNames[f]
	}
	return "unknown"
}

// Flagged counts lines by flag. Its methods are safe for concurrent use.
type Flagged [NumFlags]atomic.Int64

// Add counts one line flagged f. A nil Flagged counts nothing.
func (c *Flagged) Add(f Flag) {
	if c != nil {
		c[f].Add(1)
	}
}

// Load returns how many lines were flagged f.
func (c *Flagged) Load(f Flag) int64 { return c[f].Load() }

// A Flagger is a Parser that flags some of the lines it reads (see Flag).
// CountFlags has it count them in c from then on (nil: not at all, the
// default); the parser's reader passes its Stats' Flagged, so that every
// parser reading for a source, on any goroutine, counts in the source's
// counters. A parser that wraps another passes c on to it.
type Flagger interface {
	CountFlags(c *Flagged)
}

// CountFlags has p count the lines it flags in c if p is a Flagger.
func CountFlags(p Parser, c *Flagged) {
	if f, ok := p.(Flagger); ok {
		f.CountFlags(c)
	}
}

// A FlagRaiser is a Format whose parsers may flag lines: Flags lists the
// flags they may raise, so that a reader knows which counts to report
// (and can report a count of zero). A format that wraps another lists the
// other's flags after its own.
type FlagRaiser interface {
	Flags() []Flag
}

// Flags returns the flags f's parsers may raise: none unless f is a
// FlagRaiser.
func Flags(f Format) []Flag {
	if r, ok := f.(FlagRaiser); ok {
		return r.Flags()
	}
	return nil
}
