package aws

import (
	"io"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// HTTPClient is the SDK's default HTTP client with one change, so clients
// also work against an endpoint on loopback (the EC2 simulator).
//
// The SDK hands net/http a request body that, once the SDK has closed it,
// answers WriteTo with io.EOF, and it closes the body as soon as the
// response headers arrive. net/http drains the body after writing it with
// io.Copy, which takes that io.EOF from WriteTo for a failed write and
// closes the connection under the response being read: the call fails with
// "use of closed network connection". Against AWS, network latency hides
// the race; a server on loopback answers fast enough to lose it. Hiding
// WriteTo makes io.Copy use Read, whose io.EOF is the normal end of a body.
// Pass it to config.LoadDefaultConfig with config.WithHTTPClient.
func HTTPClient() *http.Client {
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
