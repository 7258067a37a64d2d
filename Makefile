.PHONY: run test token

# Run the service locally: DynamoDB Local (data kept in .local/), tables created, every
# route served on http://127.0.0.1:3000 through the authorizer and handlers.
run:
	./scripts/run

# Run every test: formatting, clippy, unit tests, handler tests against DynamoDB Local.
test:
	./scripts/test

# A development token for the local run, e.g. make token ROLE=admin STORES=store-1,store-2
ROLE ?= supervisor
STORES ?= store-1
TTL ?= 3600
token:
	@./scripts/token --role $(ROLE) --stores $(STORES) --ttl $(TTL) $(if $(SUB),--sub $(SUB))

# Every figure of BENCHMARKS.md (long: release builds for arm64 and x86_64).
.PHONY: bench
bench:
	./scripts/bench
