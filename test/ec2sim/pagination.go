package ec2sim

import (
	"encoding/base64"
	"slices"
	"sort"
	"strings"
)

// pageRequest is what a caller says about the page it wants.
type pageRequest struct {
	MaxResults *int64
	NextToken  string
}

// ec2Page reads MaxResults and NextToken.
func ec2Page(p params) (pageRequest, error) {
	maxResults, err := p.Int("MaxResults")
	return pageRequest{MaxResults: maxResults, NextToken: p.String("NextToken")}, err
}

// paginateEC2 paginates as an EC2 Describe action: MaxResults and NextToken
// are parameters of the request.
func paginateEC2[T any](items []T, key func(T) string, p params, limits pageLimits) ([]T, string, error) {
	req, err := ec2Page(p)
	if err != nil {
		return nil, "", err
	}
	return paginate(items, key, req, limits)
}

// pageLimits are an action's bounds on MaxResults, and the page size it uses
// when the caller sends none (0: everything in one page).
type pageLimits struct {
	min, max, fallback int
}

// paginate returns the page of items that NextToken and MaxResults select,
// in the order of their keys (which must be unique), and the token of the
// next page. The token names the last key returned, so a page never repeats
// or skips an item that existed on both calls, whatever was added or removed
// in between.
func paginate[T any](items []T, key func(T) string, req pageRequest, limits pageLimits) ([]T, string, error) {
	size := limits.fallback
	if maxResults := req.MaxResults; maxResults != nil {
		if *maxResults < int64(limits.min) || *maxResults > int64(limits.max) {
			return nil, "", clientError("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.",
				*maxResults, limits.min, limits.max)
		}
		size = int(*maxResults)
	}
	items = slices.Clone(items)
	sortByKey(items, key)
	start := 0
	if token := req.NextToken; token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(after) == 0 {
			return nil, "", clientError("InvalidPaginationToken", "The specified pagination token is not valid or is expired.")
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > string(after) })
	}
	items = items[start:]
	if size == 0 || len(items) <= size {
		return items, "", nil
	}
	page := items[:size]
	return page, base64.RawURLEncoding.EncodeToString([]byte(key(page[len(page)-1]))), nil
}

// sortByKey sorts items by a string key, stably.
func sortByKey[T any](items []T, key func(T) string) {
	slices.SortStableFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}
