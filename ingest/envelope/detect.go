package envelope

import (
	"bytes"

	"github.com/spraywatch/spraywatch/ingest/jsonscan"
)

// Detect says whether line looks like a log shipper's envelope and which key
// holds the raw line:
//
//   - "cri" for a Kubernetes CRI line (<RFC 3339 time> stdout|stderr F|P ...);
//   - "log" for a JSON object with a string member "log" (Fluent Bit, Docker);
//   - "line" for a JSON object with "line" and "timestamp", "ts" or "labels"
//     (Loki);
//   - "message" for a JSON object with "message" and Filebeat's marks
//     (@timestamp with agent, input, log.file.path, log.offset or
//     @metadata.beat members) or Vector's (source_type).
//
// A JSON application log with a "message" member is not an envelope: ok is
// false for it. That includes an ECS log (ecs-logging-python, -java, ...):
// it has @timestamp, message and ecs.version like a Filebeat event, so only
// members a log shipper adds count as Filebeat's marks, never ecs.* or
// other ECS fields an application writes (log.level, log.logger,
// log.origin.*).
func Detect(line []byte) (key string, ok bool) {
	if isCRI(line) {
		return CRI, true
	}
	var (
		sc                                  jsonscan.Scanner
		log, msg, lineKey, ts, labels, atTS bool
		beat, vector                        bool
	)
	err := sc.Scan(line, func(k, v []byte, kind jsonscan.Kind) error {
		str := kind == jsonscan.String
		switch {
		case string(k) == "log" && str:
			log = true
		case string(k) == "message" && str:
			msg = true
		case string(k) == "line" && str:
			lineKey = true
		case string(k) == "timestamp" || string(k) == "ts":
			ts = true
		case string(k) == "@timestamp":
			atTS = true
		case string(k) == "source_type":
			vector = true
		case bytes.HasPrefix(k, []byte("labels.")):
			labels = true
		case bytes.HasPrefix(k, []byte("agent.")), bytes.HasPrefix(k, []byte("input.")),
			string(k) == "log.file.path", string(k) == "log.offset", string(k) == "@metadata.beat":
			beat = true
		}
		return nil
	})
	if err != nil {
		return "", false
	}
	switch {
	case log:
		return "log", true
	case lineKey && (ts || labels):
		return "line", true
	case msg && (atTS && beat || vector):
		return "message", true
	}
	return "", false
}

func isCRI(line []byte) bool {
	sp := bytes.IndexByte(line, ' ')
	if sp < 20 || line[4] != '-' || line[10] != 'T' {
		return false
	}
	rest := line[sp+1:]
	if !bytes.HasPrefix(rest, []byte("stdout ")) && !bytes.HasPrefix(rest, []byte("stderr ")) {
		return false
	}
	rest = rest[7:]
	return len(rest) >= 1 && (rest[0] == 'F' || rest[0] == 'P') && (len(rest) == 1 || rest[1] == ' ' || rest[1] == ':')
}
