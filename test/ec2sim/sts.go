package ec2sim

import (
	"context"
)

// callerName is the IAM user every caller of the simulated account is.
const callerName = "tailor"

// newSTSAPI serves STS's GetCallerIdentity (awsQuery), which launchers call
// to learn the account they run in.
func newSTSAPI(s *Simulator) *queryProtocol {
	return &queryProtocol{
		namespace: stsNamespace, version: "2011-06-15",
		actions: map[string]queryHandler{
			"GetCallerIdentity": func(context.Context, params) (any, error) {
				return struct {
					Arn     string `xml:"Arn"`
					UserID  string `xml:"UserId"`
					Account string `xml:"Account"`
				}{"arn:aws:iam::" + s.opts.AccountID + ":user/" + callerName, iamID("AIDA", callerName), s.opts.AccountID}, nil
			},
		},
	}
}
