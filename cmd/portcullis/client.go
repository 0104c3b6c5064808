package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/web/httperr"
)

// Environment variables the admin CLI reads.
const (
	envServer = "PORTCULLIS_SERVER"
	envToken  = "PORTCULLIS_TOKEN"
)

const defaultServer = "http://127.0.0.1:8080"

// maxResponse bounds what the CLI reads from the server.
const maxResponse = 16 << 20

// apiClient talks to /admin/v1 with a bearer token.
type apiClient struct {
	base  string // server URL without trailing slash
	token string
	http  *http.Client
}

// resolveToken picks the admin token: the --token-file flag first, then
// PORTCULLIS_TOKEN. The token is never taken from a flag value, which would end up in
// shell history and process listings.
func resolveToken(tokenFile string, getenv func(string) string) (string, error) {
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", fmt.Errorf("read --token-file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("--token-file %s is empty", tokenFile)
		}
		return tok, nil
	}
	if tok := strings.TrimSpace(getenv(envToken)); tok != "" {
		return tok, nil
	}
	return "", errors.New("no admin token: pass --token-file FILE or set " + envToken)
}

// checkServer refuses to send a bearer token in clear text over a network: plain http
// is allowed only to a loopback address.
func checkServer(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("--server %q: must be an http(s) URL such as %s", server, defaultServer)
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", fmt.Errorf("--server %q: plain http is only allowed to a loopback address; use https", server)
		}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func newAPIClient(server, token string) (*apiClient, error) {
	base, err := checkServer(server)
	if err != nil {
		return nil, err
	}
	return &apiClient{base: base, token: token, http: &http.Client{Timeout: 60 * time.Second}}, nil
}

// apiError is a refusal from the server, carrying its message and field.
type apiError struct {
	Status int
	Body   httperr.Body
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server answered %d", e.Status)
	switch {
	case len(e.Body.Errors) > 0:
		for _, is := range e.Body.Errors {
			b.WriteString("\n  ")
			if is.Field != "" {
				b.WriteString(is.Field + ": ")
			}
			b.WriteString(is.Message)
		}
	case e.Body.Field != "":
		fmt.Fprintf(&b, ": %s: %s", e.Body.Field, e.Body.Message)
	case e.Body.Message != "":
		b.WriteString(": " + e.Body.Message)
	}
	return b.String()
}

// do sends a JSON request (body may be nil) and returns the raw JSON answer; when out
// is non-nil the answer is decoded into it.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	return c.send(ctx, method, path, "application/json", rd, out)
}

// upload posts files as multipart/form-data, one part per file, named by its path.
func (c *apiClient) upload(ctx context.Context, path string, files map[string][]byte, order []string, out any) ([]byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, name := range order {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
		if _, err := fw.Write(files[name]); err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("encode files: %w", err)
	}
	return c.send(ctx, http.MethodPost, path, mw.FormDataContentType(), &buf, out)
}

func (c *apiClient) send(ctx context.Context, method, path, contentType string, body io.Reader, out any) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/admin/v1"+path, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(raw, &e.Body) != nil || e.Body.Message == "" {
			e.Body.Message = http.StatusText(resp.StatusCode)
		}
		return nil, e
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return raw, nil
}
