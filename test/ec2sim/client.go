package ec2sim

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
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

// NewHTTPClient returns the SDK's default HTTP client with one change, which
// any SDK client of a server on loopback needs.
//
// The SDK hands net/http a request body that, once the SDK has closed it,
// answers WriteTo with io.EOF; the SDK closes it as soon as the response
// headers arrive. net/http drains the body after writing it, through
// io.Copy, which takes that io.EOF from WriteTo for a failure: the
// transport then closes the connection under the response being read, and
// the call fails with "use of closed network connection". Against AWS the
// network's latency hides the race; a simulator on loopback answers fast
// enough to lose it often. Hiding WriteTo makes io.Copy use Read, whose
// io.EOF is the normal end of the body.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: readOnlyBodies{awshttp.NewBuildableClient().GetTransport()}}
}

type readOnlyBodies struct {
	base http.RoundTripper
}

// onlyReader hides every method of a body but Read and Close.
type onlyReader struct {
	io.ReadCloser
}

func (t readOnlyBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req = req.Clone(req.Context())
		req.Body = onlyReader{req.Body}
	}
	return t.base.RoundTrip(req)
}
