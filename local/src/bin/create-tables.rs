//! `create-tables`: creates both tables (keys, index, TTL) as `shared::store::schema` defines them,
//! unless they exist: for harnesses that need the tables without the gateway (bench/).
//!
//! Reads the table names (`REQUESTS_TABLE`, ... with their local defaults) and the SDK's
//! usual environment (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_REGION`, credentials), through the
//! same `Settings::local_from_env` as the local gateway.

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    if let Err(error) = runtime.block_on(create_tables()) {
        eprintln!("create-tables: {error}");
        std::process::exit(1);
    }
}

async fn create_tables() -> Result<(), String> {
    let sdk = shared::edge::config::load_sdk_config().await;
    let app =
        shared::App::from_settings(&sdk, shared::edge::config::Settings::local_from_env()?).await?;
    app.ensure_tables().await?;
    println!(
        "{}, {} and {} ready",
        app.requests.table(),
        app.requests.events_table(),
        app.catalog.table()
    );
    Ok(())
}
