# Portcullis — developer entry points. `make run` and `make test` are the two a
# newcomer needs; the rest are for working on the code.
GO        ?= go
CONFIG    ?=
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
PKGS      := ./...

.PHONY: run test build lint bench fuzz clean

## run: start the server on the embedded dev config (http://127.0.0.1:8080, data in ./data)
run:
	$(GO) run ./cmd/portcullis serve $(if $(CONFIG),--config $(CONFIG),)

## test: formatting and vet, then every test (unit, conformance, end-to-end)
test: lint
	$(GO) test -count=1 -timeout 15m $(PKGS)

## build: the single binary, in ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/portcullis ./cmd/portcullis

## lint: gofmt check and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## bench: the Go benchmarks (signing, hashing, store)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) $(PKGS)

## fuzz: a short run of every fuzz target
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s $$pkg; \
	  done; \
	done

clean:
	rm -rf bin data
