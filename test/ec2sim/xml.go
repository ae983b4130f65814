package ec2sim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// XML namespaces of the query APIs, as the real services write them.
const (
	ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// awsTime formats t as the query APIs do: ISO 8601 in UTC with milliseconds.
func awsTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// ec2Meta is embedded in every EC2 response body: EC2 returns its request id
// as the first child of the response element.
type ec2Meta struct {
	RequestID string `xml:"requestId"`
}

func (m *ec2Meta) setRequestID(id string) { m.RequestID = id }

// ec2Body is the body of an EC2 response, written inside <ActionResponse>.
type ec2Body interface {
	setRequestID(string)
}

// writeEC2 writes a successful ec2query response:
//
//	<DescribeInstancesResponse xmlns="..."><requestId>..</requestId>...</DescribeInstancesResponse>
func writeEC2(w http.ResponseWriter, action, requestID string, body ec2Body) {
	body.setRequestID(requestID)
	start := xml.StartElement{
		Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ec2Namespace}},
	}
	writeXML(w, http.StatusOK, requestID, body, start)
}

// ec2ErrorResponse is EC2's error shape, which the SDK's ec2query
// deserializer reads as Response>Errors>Error>{Code,Message} and RequestID.
type ec2ErrorResponse struct {
	XMLName   xml.Name     `xml:"Response"`
	Errors    []ec2ErrItem `xml:"Errors>Error"`
	RequestID string       `xml:"RequestID"`
}

type ec2ErrItem struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func writeEC2Error(w http.ResponseWriter, requestID string, e *apiError) {
	body := ec2ErrorResponse{Errors: []ec2ErrItem{{Code: e.Code, Message: e.Message}}, RequestID: requestID}
	writeXML(w, e.Status, requestID, body, xml.StartElement{Name: xml.Name{Local: "Response"}})
}

// queryResponseMetadata closes every awsQuery response.
type queryResponseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// writeQuery writes a successful awsQuery (IAM, STS) response: the result, if
// the action has one, inside <ActionResult>, then the request id.
func writeQuery(w http.ResponseWriter, namespace, action, requestID string, result any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{
		Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}},
	}
	err := enc.EncodeToken(start)
	if err == nil && result != nil {
		err = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	}
	if err == nil {
		err = enc.EncodeElement(queryResponseMetadata{RequestID: requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	}
	if err == nil {
		err = enc.EncodeToken(start.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		writeQueryError(w, namespace, requestID, errInternal(fmt.Errorf("encoding the %s response: %w", action, err)))
		return
	}
	send(w, http.StatusOK, requestID, "text/xml", buf.Bytes())
}

// queryErrorResponse is the awsQuery error shape.
type queryErrorResponse struct {
	XMLName   xml.Name      `xml:"ErrorResponse"`
	Xmlns     string        `xml:"xmlns,attr"`
	Error     queryErrorXML `xml:"Error"`
	RequestID string        `xml:"RequestId"`
}

type queryErrorXML struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func writeQueryError(w http.ResponseWriter, namespace, requestID string, e *apiError) {
	typ := "Receiver"
	if e.sender() {
		typ = "Sender"
	}
	body := queryErrorResponse{Xmlns: namespace, Error: queryErrorXML{Type: typ, Code: e.Code, Message: e.Message}, RequestID: requestID}
	writeXML(w, e.Status, requestID, body, xml.StartElement{Name: xml.Name{Local: "ErrorResponse"}})
}

// writeXML encodes v as the element start and sends it. Encoding fails only
// for a programming error (an unsupported type), reported as an InternalError
// in EC2's shape.
func writeXML(w http.ResponseWriter, status int, requestID string, v any, start xml.StartElement) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).EncodeElement(v, start); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(xml.Header)
		fmt.Fprintf(&buf, "<Response><Errors><Error><Code>InternalError</Code><Message>encoding the response: %s</Message></Error></Errors><RequestID>%s</RequestID></Response>",
			xmlEscape(err.Error()), requestID)
	}
	send(w, status, requestID, "text/xml;charset=UTF-8", buf.Bytes())
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// send writes a response with the request id header every AWS API sets.
func send(w http.ResponseWriter, status int, requestID, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// tagXML is an EC2 tag as it appears in tagSet.
type tagXML struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// tagSet renders tags in key order, as EC2 does.
func tagSet(tags map[string]string) []tagXML {
	out := make([]tagXML, 0, len(tags))
	for k, v := range tags {
		out = append(out, tagXML{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
