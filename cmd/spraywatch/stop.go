package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spraywatch/spraywatch/alert"
)

// defaultShutdownTimeout bounds a serve's stop unless --shutdown-timeout
// says otherwise.
const defaultShutdownTimeout = 25 * time.Second

// serveOutputs are the alert outputs of a serve, closed once: by shutdown
// at the end of the stop, or by close when serve ends before it runs.
type serveOutputs struct {
	sink alert.Sink // nil: none (role correlate)
	log  *slog.Logger
	done bool
}

// close closes the outputs unless shutdown did.
func (o *serveOutputs) close() {
	if o.sink == nil || o.done {
		return
	}
	o.done = true
	if err := o.sink.Close(); err != nil {
		o.log.Error("closing alert sinks", "err", err)
	}
}

// shutdown closes the outputs within ctx and logs, per output, the alerts
// not delivered and what becomes of them. committed says the server's
// final pass ended, its input positions committed.
func (o *serveOutputs) shutdown(ctx context.Context, committed bool) []alert.Undelivered {
	if o.sink == nil || o.done {
		return nil
	}
	o.done = true
	fan, ok := o.sink.(*alert.Fanout)
	if !ok {
		fan = alert.NewFanout(alert.Routed{Sink: o.sink})
	}
	und, err := fan.Shutdown(ctx)
	if err != nil {
		o.log.Error("closing alert sinks", "err", err)
	}
	for _, u := range und {
		var what []string
		if u.Dropped > 0 {
			fate := "lost: the output had taken them, the committed input positions cover them and a restart does not send them again"
			if !committed {
				fate = "lost unless taken after the last commit: a restart does not send again those the committed input positions cover"
			}
			what = append(what, fmt.Sprintf("%d dropped, %s", u.Dropped, fate))
		}
		if u.Interrupted > 0 {
			what = append(what, fmt.Sprintf("%d in a write given up on: not committed, a restart sends them again", u.Interrupted))
		}
		if u.Spooled > 0 {
			what = append(what, fmt.Sprintf("%d left in the spool: the output's next start delivers them", u.Spooled))
		}
		if u.Unfinished && u.Interrupted == 0 {
			what = append(what, "still writing at the deadline: left behind")
		}
		level := slog.LevelError
		if u.Dropped == 0 && u.Interrupted == 0 && !u.Unfinished {
			level = slog.LevelWarn
		}
		o.log.Log(context.Background(), level, "alerts not delivered at the stop: "+strings.Join(what, "; "),
			"output", u.Output, "type", u.Type, "dropped", u.Dropped, "interrupted", u.Interrupted, "spooled", u.Spooled)
	}
	return und
}

// runStopping runs a server (run) until ctx ends (the first SIGTERM or
// SIGINT) or it returns by itself, and bounds the stop that follows to
// timeout: the server's final pass and commit (run returning), then the
// outputs delivering what they hold, each for its drain_timeout at most.
// What an output did not deliver is logged. When the deadline passes
// before the stop is done, the outputs still busy are given up on and
// the error says what was left: the server's final pass, still running,
// is abandoned too (nothing after its last commit is committed).
func runStopping(ctx context.Context, timeout time.Duration, outs *serveOutputs, run func(context.Context) error) error {
	ran := make(chan error, 1)
	go func() { ran <- run(ctx) }()
	var err error
	finished := false
	select {
	case err = <-ran:
		finished = true
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if !finished {
		select {
		case err = <-ran:
			finished = true
		case <-sctx.Done():
			outs.log.Error("the pass under way did not end within --shutdown-timeout: given up, no final commit; a restart reads again from the last commit", "timeout", timeout)
		}
	}
	und := outs.shutdown(sctx, finished)
	if finished && (sctx.Err() == nil || len(und) == 0) {
		return err
	}
	return errors.Join(err, stopError(timeout, finished, und))
}

// stopError says what a stop that ran past its deadline left undone.
func stopError(timeout time.Duration, finished bool, und []alert.Undelivered) error {
	var left []string
	if !finished {
		left = append(left, "the pass under way had not ended (the input positions of its records are not committed: a restart reads them again)")
	}
	var lost, again, spooled int64
	for _, u := range und {
		lost, again, spooled = lost+u.Dropped, again+u.Interrupted, spooled+u.Spooled
	}
	if n := lost + again + spooled; n > 0 {
		left = append(left, fmt.Sprintf("alerts not delivered: %d (%d lost, %d not committed and sent again by a restart, %d left in a spool)", n, lost, again, spooled))
	}
	var writing []string
	for _, u := range und {
		if u.Unfinished {
			writing = append(writing, u.Output)
		}
	}
	if len(writing) > 0 {
		left = append(left, "outputs still writing: "+strings.Join(writing, ", "))
	}
	return fmt.Errorf("stop did not finish within --shutdown-timeout %s: %s", timeout, strings.Join(left, "; "))
}
