package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

func newBenchPDPCmd() *cobra.Command {
	var o benchOpts
	cmd := &cobra.Command{
		Use:   "pdp",
		Short: "Drive the decision point (POST /authz/v1/check) and report checks/s and latency",
		Long: `Starts its own server, creates a managed policy and a role through the admin API, and
drives POST /authz/v1/check for the role from --concurrency workers for --duration with an
API token holding the pdp role. Allow decisions are not audited in this run
(sts.audit_allow_sample_rate: 0), as a busy deployment would configure it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchPDP(cmd.Context(), cmd.OutOrStdout(), o) },
	}
	f := cmd.Flags()
	f.IntVar(&o.concurrency, "concurrency", 16, "concurrent workers")
	f.DurationVar(&o.duration, "duration", 20*time.Second, "measured duration")
	f.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up")
	return cmd
}

func runBenchPDP(ctx context.Context, out io.Writer, o benchOpts) error {
	if o.concurrency < 1 || o.concurrency > 1024 {
		return fmt.Errorf("--concurrency: must be between 1 and 1024")
	}
	srv, err := startBenchServer(ctx, "ES256", "sts:\n  audit_allow_sample_rate: 0\n")
	if err != nil {
		return err
	}
	defer srv.stop()
	admin := func(path string, body any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.issuer+"/admin/v1"+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+srv.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			return nil, fmt.Errorf("POST %s: %s: %s", path, resp.Status, rb)
		}
		m := map[string]any{}
		_ = json.Unmarshal(rb, &m)
		return m, nil
	}
	if _, err := admin("/policies", map[string]any{"name": "reports", "document": json.RawMessage(`{"Version":"2012-10-17","Statement":[
		{"Sid":"Read","Effect":"Allow","Action":["reports:Get*","reports:List*"],"Resource":"arn:portcullis:reports:::report/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
		{"Sid":"NoSecret","Effect":"Deny","Action":"reports:*","Resource":"arn:portcullis:reports:::report/secret-*"}]}`)}); err != nil {
		return err
	}
	if _, err := srv.createRole(ctx, "reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Portcullis":["arn:portcullis:iam::000000000000:root"]},"Action":"sts:AssumeRole"}]}`); err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, srv.issuer+"/admin/v1/roles/reader", bytes.NewReader([]byte(`{"managed_policies":["reports"]}`)))
	req.Header.Set("Authorization", "Bearer "+srv.token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			err = fmt.Errorf("attach policy: %s: %s", resp.Status, b)
		}
		return err
	}
	tok, err := admin("/tokens", map[string]any{"name": "bench-pdp", "roles": []string{"pdp"}})
	if err != nil {
		return err
	}
	pdpToken, _ := tok["token"].(string)
	body := []byte(`{"role":"reader","action":"reports:GetReport","resource":"arn:portcullis:reports:::report/q3","context":{"aws:SourceIp":["10.1.2.3"]}}`)
	newWorker, err := rawPostWorkers(srv.issuer+"/authz/v1/check", body, "Authorization: Bearer "+pdpToken+"\r\n", func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"decision":"allow"`)) {
			return fmt.Errorf("check: %s: %.300s", resp.Status, b)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.warmup > 0 {
		runLoad(ctx, newWorker, o, o.warmup)
	}
	before := srv.stats()
	res := runLoad(ctx, newWorker, o, o.duration)
	if res.ok == 0 {
		return fmt.Errorf("no decision succeeded (%d errors; first: %v)", res.failed, res.firstErr)
	}
	after := srv.stats()
	fmt.Fprintf(out, "POST /authz/v1/check, %d concurrent, %s: %d checks, %.0f/s, %d errors\n", o.concurrency, o.duration, res.ok, float64(res.ok)/res.elapsed.Seconds(), res.failed)
	fmt.Fprintf(out, "latency p50 %s  p90 %s  p99 %s  max %s\n", res.pct(50), res.pct(90), res.pct(99), res.pct(100))
	fmt.Fprintf(out, "server RSS %.1f MiB, CPU %.1f s over the window\n", float64(after.rss)/(1<<20), after.cpu-before.cpu)
	return nil
}
