package main

import (
	"runtime/debug"
	"testing"
)

func TestReleaseOf(t *testing.T) {
	built := func(settings ...debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: settings}
	}
	revision := debug.BuildSetting{Key: "vcs.revision", Value: "7d34297aa1b2c3d4e5f60718293a4b5c6d7e8f90"}
	for _, tc := range []struct {
		name    string
		release string
		commit  string
		info    *debug.BuildInfo
		want    string
	}{
		{name: "plain go build outside git", info: built(), want: "(devel)"},
		{name: "make build", release: "0.1.0", info: built(revision), want: "0.1.0, commit 7d34297aa1b2"},
		{name: "make build without VCS stamping", release: "0.1.0", commit: "7d34297aa1b2", info: built(), want: "0.1.0, commit 7d34297aa1b2"},
		{name: "uncommitted changes", release: "0.1.0", info: built(revision, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), want: "0.1.0, commit 7d34297aa1b2, modified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(v, c string) { version, commit = v, c }(version, commit)
			version, commit = tc.release, tc.commit
			if got := releaseOf(tc.info); got != tc.want {
				t.Errorf("releaseOf = %q, want %q", got, tc.want)
			}
		})
	}
}
