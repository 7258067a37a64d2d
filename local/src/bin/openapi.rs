//! `openapi`: prints the OpenAPI document the local gateway serves at `/openapi.json`,
//! without serving anything (no DynamoDB, no configuration): for client generators and the
//! TypeScript client check in `scripts/test`.

fn main() {
    println!(
        "{}",
        serde_json::to_string_pretty(&local_gateway::openapi::document())
            .expect("the document serializes")
    );
}
