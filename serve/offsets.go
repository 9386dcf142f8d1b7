package serve

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// offsetStore commits a consumer group's offsets with, as each offset's
// metadata, how much event time before it a restart must read again (the
// rewind: the windows' span, or more to rebuild the incidents firing), and
// reads them back when partitions are assigned.
type offsetStore struct {
	client    *kafkago.Client
	transport *kafkago.Transport
	group     string
}

func (s *Server) newOffsetStore() (*offsetStore, error) {
	t, err := s.cfg.Kafka.Transport()
	if err != nil {
		return nil, err
	}
	return &offsetStore{
		client:    &kafkago.Client{Addr: kafkago.TCP(s.cfg.Kafka.Brokers...), Transport: t, Timeout: 10 * time.Second},
		transport: t,
		group:     s.cfg.Kafka.GroupID,
	}, nil
}

func (o *offsetStore) close() { o.transport.CloseIdleConnections() }

// fetchTries is how many times rewinds asks for the offsets' metadata,
// waiting fetchBackoff before the second try and twice as long before
// each next: a coordinator that has just moved or restarted answers with
// an error until it has loaded the group's offsets.
const (
	fetchTries   = 4
	fetchBackoff = 250 * time.Millisecond
)

// rewinds returns the rewinds committed with the offsets of the
// partitions assigned in gen (those committed without one are left out).
func (o *offsetStore) rewinds(ctx context.Context, gen *kafkago.Generation) (map[topicPartition]savedRewind, error) {
	req := &kafkago.OffsetFetchRequest{GroupID: o.group, Topics: map[string][]int{}}
	for topic, as := range gen.Assignments {
		for _, a := range as {
			req.Topics[topic] = append(req.Topics[topic], a.ID)
		}
	}
	out := map[topicPartition]savedRewind{}
	if len(req.Topics) == 0 {
		return out, nil
	}
	var res *kafkago.OffsetFetchResponse
	var err error
	for try, wait := 1, fetchBackoff; ; try, wait = try+1, 2*wait {
		res, err = o.client.OffsetFetch(ctx, req)
		if err == nil {
			err = res.Error
		}
		if err == nil {
			break
		}
		if try == fetchTries {
			return out, fmt.Errorf("fetching the committed offsets' metadata (%d tries): %w", try, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return out, fmt.Errorf("fetching the committed offsets' metadata: %w", err)
		case <-t.C:
		}
	}
	for topic, ps := range res.Topics {
		for _, p := range ps {
			if d, st, ok := parseRewind(p.Metadata); ok && p.Error == nil {
				out[topicPartition{topic, p.Partition}] = savedRewind{d, st}
			}
		}
	}
	return out, nil
}

// savedRewind is what is committed with an offset: the rewind, and the
// rebuild state (nil if none).
type savedRewind struct {
	rewind time.Duration
	state  *rebuildState
}

// commitOffset is an offset to commit and what goes with it.
type commitOffset struct {
	offset int64
	savedRewind
}

// commit commits offsets for gen's member, each with its rewind.
func (o *offsetStore) commit(ctx context.Context, gen *kafkago.Generation, offsets map[topicPartition]commitOffset) error {
	req := &kafkago.OffsetCommitRequest{GroupID: o.group, GenerationID: int(gen.ID), MemberID: gen.MemberID, Topics: map[string][]kafkago.OffsetCommit{}}
	for tp, c := range offsets {
		req.Topics[tp.topic] = append(req.Topics[tp.topic], kafkago.OffsetCommit{Partition: tp.id, Offset: c.offset, Metadata: formatRewind(c.rewind, c.state)})
	}
	res, err := o.client.OffsetCommit(ctx, req)
	if err != nil {
		return fmt.Errorf("committing offsets: %w", err)
	}
	var errs []error
	for topic, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				errs = append(errs, fmt.Errorf("committing the offset of %s/%d: %w", topic, p.Partition, p.Error))
			}
		}
	}
	return errors.Join(errs...)
}

func formatRewind(d time.Duration, st *rebuildState) string {
	b := strconv.AppendInt([]byte(metadataPrefix), int64(d), 10)
	return string(appendState(b, st))
}

// parseRewind reads a rewind written by formatRewind, and the rebuild
// state after it if there is one (nil otherwise: an older version wrote
// none, or there were too many needs); other metadata (an older
// version's, another client's) says nothing.
func parseRewind(s string) (time.Duration, *rebuildState, bool) {
	v, ok := strings.CutPrefix(s, metadataPrefix)
	if !ok {
		return 0, nil, false
	}
	v, rest, _ := strings.Cut(v, ";")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, nil, false
	}
	var st *rebuildState
	if rest != "" {
		st = parseState(";" + rest)
	}
	return time.Duration(n), st, true
}
