package kafka

import (
	"cmp"
	"slices"
	"strings"

	"github.com/segmentio/kafka-go"
)

// coPartitioned is the consumer group's partition assignor: Kafka's range
// assignment (members in order of their ids, each topic's partitions split
// among them in contiguous runs), taken over each topic's partitions in
// order of their numbers. A member is then assigned the same partition
// numbers of every topic with as many partitions, which the join needs:
// a request's proxy and app records, keyed alike, are in partitions of one
// number.
//
// kafka-go's RangeGroupBalancer takes the partitions in the order the
// broker's metadata lists them, which Kafka does not promise to be sorted:
// two topics listed in different orders would be assigned crossed, proxy
// partition 1 with app partition 0, and no request of either joined.
type coPartitioned struct{ kafka.RangeGroupBalancer }

func (b coPartitioned) AssignGroups(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	sorted := slices.Clone(partitions)
	slices.SortFunc(sorted, func(x, y kafka.Partition) int {
		return cmp.Or(strings.Compare(x.Topic, y.Topic), cmp.Compare(x.ID, y.ID))
	})
	return b.RangeGroupBalancer.AssignGroups(members, sorted)
}
