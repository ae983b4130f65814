package aws

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// LoopbackSafe wraps the HTTP client of an SDK configuration so its clients
// also work against an endpoint on loopback (the EC2 simulator). Call it on
// the aws.Config that config.LoadDefaultConfig returns, which keeps what
// the configuration set up on the client (a CA bundle, proxies, timeouts).
//
// The SDK hands net/http a request body that, once the SDK has closed it,
// answers WriteTo with io.EOF, and it closes the body as soon as the
// response headers arrive. net/http drains the body after writing it with
// io.Copy, which takes that io.EOF from WriteTo for a failed write and
// closes the connection under the response being read: the call fails with
// "use of closed network connection". Against AWS, network latency hides
// the race; a server on loopback answers fast enough to lose it. Hiding
// WriteTo makes io.Copy use Read, whose io.EOF is the normal end of a body.
func LoopbackSafe(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	return readOnlyBodies{c}
}

// HTTPClient is the SDK's default HTTP client made LoopbackSafe, for an
// aws.Config built by hand.
func HTTPClient() aws.HTTPClient {
	return LoopbackSafe(awshttp.NewBuildableClient())
}

type readOnlyBodies struct {
	base aws.HTTPClient
}

// onlyReader hides every method of a body but Read and Close.
type onlyReader struct {
	io.ReadCloser
}

func (c readOnlyBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req = req.Clone(req.Context())
		req.Body = onlyReader{req.Body}
	}
	return c.base.Do(req)
}
