package main

import (
	"sort"
)

// sample is one timed solve, as both sides of the comparison write it
// (hack/bench/karpenter/measure.go declares Karpenter's half).
type sample struct {
	Seconds  float64 `json:"seconds"`
	Bytes    uint64  `json:"bytes"`
	Nodes    int     `json:"nodes"`
	Price    float64 `json:"price"`
	Unplaced int     `json:"unplaced"`
}

// summary is the median of each measure over a side's samples.
type summary struct {
	Seconds, Bytes, Nodes, Price, Unplaced float64
	Runs                                   int
}

func summarize(samples []sample) summary {
	pick := func(f func(sample) float64) float64 {
		vs := make([]float64, len(samples))
		for i, s := range samples {
			vs[i] = f(s)
		}
		return medianOf(vs)
	}
	return summary{
		Seconds:  pick(func(s sample) float64 { return s.Seconds }),
		Bytes:    pick(func(s sample) float64 { return float64(s.Bytes) }),
		Nodes:    pick(func(s sample) float64 { return float64(s.Nodes) }),
		Price:    pick(func(s sample) float64 { return s.Price }),
		Unplaced: pick(func(s sample) float64 { return float64(s.Unplaced) }),
		Runs:     len(samples),
	}
}

// medianOf is the middle value, or the mean of the two middle ones.
func medianOf(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
