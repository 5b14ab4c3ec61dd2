# The two commands that matter: `make up` runs the platform, `make test`
# runs every test. Everything else is a convenience.
.PHONY: up down test generate check-generated build bench fuzz lint infra-status help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

up: ## install and start PostgreSQL, Redis, Kafka and the platform on loopback
	@scripts/up.sh

down: ## stop what `make up` started (data in .data/ is kept)
	@scripts/down.sh

test: ## gofmt, vet, generated-code check, then all tests with -race against real services
	@scripts/test.sh

generate: ## regenerate api/gen from api/proto (buf, local plugins)
	@scripts/generate.sh

check-generated: ## fail if api/gen is stale
	@scripts/check-generated.sh

build: ## build bin/oof
	@go build -o bin/oof ./cmd/oof

bench: ## throughput and latency tables against real services
	@scripts/bench.sh

fuzz: ## run the request-validation fuzz targets for a while
	@go test ./command/auth/ -run '^$$' -fuzz FuzzRegisterInput -fuzztime 30s
	@go test ./command/auth/ -run '^$$' -fuzz FuzzLoginInput -fuzztime 15s
	@go test ./command/game/ -run '^$$' -fuzz FuzzCreateGameInput -fuzztime 20s
	@go test ./command/session/ -run '^$$' -fuzz FuzzCreateSessionInput -fuzztime 20s
	@go test ./command/entity/ -run '^$$' -fuzz FuzzCreateEntityInput -fuzztime 20s
	@go test ./pkg/grpcx/ -run '^$$' -fuzz FuzzCodecUnmarshal -fuzztime 20s
	@go test ./command/live/ -run '^$$' -fuzz FuzzLiveEventInput -fuzztime 20s

infra-status: ## show the local infrastructure
	@scripts/infra.sh status
