package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/web/httperr"
)

// maxApplyBody limits the declarative documents of one apply.
const maxApplyBody = 4 << 20

// maxApplyFiles limits the parts of a multipart apply.
const maxApplyFiles = 64

func (a *API) mountApply(mux *http.ServeMux) {
	a.route(mux, "POST "+Prefix+"/apply", "admin.apply", a.apply)
}

// apply takes one or more YAML documents, either as the raw body (source "request") or
// as multipart/form-data with one file part per document file (source: its filename),
// and reconciles them in one transaction. ?dry_run=true plans only; ?prune=true
// deletes declarative entities the documents no longer name.
func (a *API) apply(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	dryRun, err := boolParam(q.Get("dry_run"), "dry_run")
	if err != nil {
		return err
	}
	prune, err := boolParam(q.Get("prune"), "prune")
	if err != nil {
		return err
	}
	c.target = "declarative"
	c.details = map[string]string{"dry_run": strconv.FormatBool(dryRun), "prune": strconv.FormatBool(prune)}
	r.Body = http.MaxBytesReader(w, r.Body, maxApplyBody)
	docs, err := readDocuments(r)
	if err != nil {
		return err
	}
	res, err := a.d.Declare.Apply(r.Context(), docs, declare.Options{DryRun: dryRun, Prune: prune, Actor: c.actor})
	if err != nil {
		return declareErr(err)
	}
	cr, up, del, un := res.Counts()
	c.details["plan"] = fmt.Sprintf("%d create, %d update, %d delete, %d unchanged", cr, up, del, un)
	return writeJSON(w, http.StatusOK, res)
}

func boolParam(v, name string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, httperr.BadField(name, "must be true or false")
	}
	return b, nil
}

func readDocuments(r *http.Request) ([]declare.Document, error) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, bodyErr(err)
		}
		docs, err := declare.Parse(data, "request")
		if err != nil {
			return nil, declareErr(err)
		}
		return docs, nil
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var docs []declare.Document
	var errs []error
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bodyErr(err)
		}
		if n >= maxApplyFiles {
			return nil, &httperr.Error{Status: http.StatusBadRequest, Code: "too_many_files", Msg: fmt.Sprintf("at most %d files per apply", maxApplyFiles)}
		}
		source := part.FileName()
		if source == "" {
			source = part.FormName()
		}
		if source == "" {
			source = "part" + strconv.Itoa(n+1)
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, part); err != nil {
			return nil, bodyErr(err)
		}
		d, err := declare.Parse(buf.Bytes(), source)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs = append(docs, d...)
	}
	if len(errs) > 0 {
		return nil, declareErr(errors.Join(errs...))
	}
	return docs, nil
}

func bodyErr(err error) error {
	var big *http.MaxBytesError
	if errors.As(err, &big) {
		return &httperr.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Msg: fmt.Sprintf("the documents exceed %d bytes", big.Limit), Err: err}
	}
	return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_body", Msg: "the body could not be read", Err: err}
}

// declareErr turns document errors into a 400 naming each key path; anything else is
// internal.
func declareErr(err error) error {
	var found []*declare.Error
	collectDeclare(err, &found)
	if len(found) == 0 {
		return httperr.Internal(err)
	}
	is := make([]httperr.FieldIssue, 0, len(found))
	for _, e := range found {
		msg := e.Msg
		if e.Source != "" {
			msg = fmt.Sprintf("%s (%s:%d)", e.Msg, e.Source, e.Line)
		}
		is = append(is, httperr.FieldIssue{Field: e.Path, Message: msg})
	}
	return &httperr.Multi{Issues: is}
}

func collectDeclare(err error, out *[]*declare.Error) {
	switch e := err.(type) {
	case nil:
	case *declare.Error:
		*out = append(*out, e)
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			collectDeclare(x, out)
		}
	case interface{ Unwrap() error }:
		collectDeclare(e.Unwrap(), out)
	}
}
