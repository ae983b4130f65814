package hash

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
)

// sum digests the canonical JSON form of v as a decimal string.
func sum(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		// The canonical forms hold only strings, numbers, booleans, maps
		// and lists, which always encode; the fallback keeps the hash
		// deterministic should that ever change.
		raw = fmt.Appendf(nil, "%#v", v)
	}
	h := fnv.New64a()
	_, _ = h.Write(raw)
	return strconv.FormatUint(h.Sum64(), 10)
}
