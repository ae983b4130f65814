package ec2sim

import (
	"fmt"
	"reflect"
	"testing"
)

// TestPaginate walks pages by token and checks that items added or removed
// between calls neither repeat nor shift the pages that follow.
func TestPaginate(t *testing.T) {
	key := func(s string) string { return s }
	limits := pageLimits{min: 2, max: 10}
	items := []string{"e", "a", "d", "c", "b"}
	size := int64(2)

	page, next, err := paginate(items, key, pageRequest{MaxResults: &size}, limits)
	if err != nil || !reflect.DeepEqual(page, []string{"a", "b"}) || next == "" {
		t.Fatalf("first page %v next %q err %v", page, next, err)
	}
	// "b" goes away and "bb" arrives between calls: the next page starts
	// after "b" all the same.
	items = []string{"e", "a", "d", "c", "bb"}
	page, next, err = paginate(items, key, pageRequest{MaxResults: &size, NextToken: next}, limits)
	if err != nil || !reflect.DeepEqual(page, []string{"bb", "c"}) || next == "" {
		t.Fatalf("second page %v next %q err %v", page, next, err)
	}
	page, next, err = paginate(items, key, pageRequest{MaxResults: &size, NextToken: next}, limits)
	if err != nil || !reflect.DeepEqual(page, []string{"d", "e"}) || next != "" {
		t.Fatalf("last page %v next %q err %v", page, next, err)
	}

	all, next, err := paginate(items, key, pageRequest{}, limits)
	if err != nil || len(all) != len(items) || next != "" {
		t.Errorf("without MaxResults and without a default page size, everything at once: %v %q %v", all, next, err)
	}
	fallback, next, _ := paginate(items, key, pageRequest{}, pageLimits{min: 1, max: 10, fallback: 3})
	if len(fallback) != 3 || next == "" {
		t.Errorf("the default page size was not applied: %v %q", fallback, next)
	}
	for _, bad := range []int64{1, 11} {
		if _, _, err := paginate(items, key, pageRequest{MaxResults: &bad}, limits); err == nil || asAPIError(err).Code != "InvalidParameterValue" {
			t.Errorf("MaxResults %d: %v", bad, err)
		}
	}
	if _, _, err := paginate(items, key, pageRequest{NextToken: "!!"}, limits); err == nil || asAPIError(err).Code != "InvalidPaginationToken" {
		t.Errorf("a garbled token: %v", err)
	}
	if got := fmt.Sprint(items); got != "[e a d c bb]" {
		t.Errorf("paginate reordered the caller's slice: %s", got)
	}
}
