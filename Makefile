.PHONY: run test

# Run the service locally: DynamoDB Local with data on disk, tables created, the API served.
run:
	./scripts/run

# Run every test (lints, unit, and handlers against DynamoDB Local).
test:
	./scripts/test
