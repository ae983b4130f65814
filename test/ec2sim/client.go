package ec2sim

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	launcheraws "github.com/tailor-project/tailor/launcher/aws"
)

// Fake credentials for SDK clients of the simulator, which routes requests
// by their SigV4 scope and checks no signature.
const (
	FakeAccessKeyID     = "AKIAEC2SIMULATOR0000"
	FakeSecretAccessKey = "ec2sim-fake-secret-access-key"
)

// SDKConfig returns an aws.Config whose clients talk to the simulator:
// region us-east-1, static fake credentials, the simulator's URL as
// BaseEndpoint, and an HTTP client safe for a server on loopback (see
// NewHTTPClient).
func (s *Simulator) SDKConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(FakeAccessKeyID, FakeSecretAccessKey, ""),
		BaseEndpoint: aws.String(s.URL()),
		HTTPClient:   NewHTTPClient(),
	}
}

// NewHTTPClient is the HTTP client an SDK client of the simulator needs;
// see launcher/aws.HTTPClient for why.
func NewHTTPClient() aws.HTTPClient {
	return launcheraws.HTTPClient()
}
