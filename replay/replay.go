// Package replay runs the detection engine over finished log files: the
// sources are merged in event-time order, so the alerts depend only on the
// files' contents, never on how fast they are read.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spraywatch/spraywatch/detect"
	"github.com/spraywatch/spraywatch/event"
	"github.com/spraywatch/spraywatch/ingest"
)

// Run reads every source to its end, feeding the engine the records in
// event-time order (ties go to the source listed first), then closes the
// engine. Each source is expected to be roughly in time order, as log files
// are; disorder within a source is absorbed by the engine's join window.
func Run(ctx context.Context, sources []ingest.Source, eng *detect.Engine) error {
	heads := make([]head, len(sources))
	live := 0
	for i, s := range sources {
		heads[i].src = s
		ok, err := heads[i].next(ctx)
		if err != nil {
			return err
		}
		if ok {
			live++
		}
	}
	for live > 0 {
		best := -1
		for i := range heads {
			h := &heads[i]
			if h.done {
				continue
			}
			if best < 0 || h.rec.Time < heads[best].rec.Time {
				best = i
			}
		}
		h := &heads[best]
		if err := eng.Add(ctx, &h.rec); err != nil {
			return err
		}
		ok, err := h.next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			live--
		}
	}
	return eng.Close(ctx)
}

type head struct {
	src  ingest.Source
	rec  event.Record
	done bool
}

func (h *head) next(ctx context.Context) (bool, error) {
	err := h.src.Next(ctx, &h.rec)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, io.EOF):
		h.done = true
		return false, nil
	}
	h.done = true
	return false, fmt.Errorf("reading %s: %w", h.src.Stats().Name, err)
}
