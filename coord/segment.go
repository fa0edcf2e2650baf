package coord

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/flashload/flashload/scenario"
)

// IndexEnv is the variable Kubernetes sets in the pods of an Indexed Job: the pod's completion
// index, 0 to N-1.
const IndexEnv = "JOB_COMPLETION_INDEX"

// ParseSegment reads --segment: "I/N", or "auto/N" with I = $JOB_COMPLETION_INDEX + 1.
func ParseSegment(spec string) (scenario.Segment, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(spec), "auto/")
	if !ok {
		return scenario.ParseSegment(spec)
	}
	v, set := os.LookupEnv(IndexEnv)
	if !set {
		return scenario.Segment{}, fmt.Errorf("--segment %s: $%s is not set (auto/N is for Kubernetes Indexed Jobs)", spec, IndexEnv)
	}
	idx, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || idx < 0 {
		return scenario.Segment{}, fmt.Errorf("--segment %s: $%s=%q is not an index", spec, IndexEnv, v)
	}
	return scenario.ParseSegment(strconv.Itoa(idx+1) + "/" + rest)
}
