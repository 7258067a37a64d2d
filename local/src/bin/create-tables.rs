//! `create-tables`: creates both tables (keys, index, TTL) as `shared::schema` defines them,
//! unless they exist: for harnesses that need the tables without the gateway (bench/).
//!
//! Reads `REQUESTS_TABLE` and `ITEMS_TABLE` (defaults `supervisor-requests`,
//! `preferred-items`) and the SDK's usual environment (`AWS_ENDPOINT_URL_DYNAMODB`,
//! `AWS_REGION`, credentials), through the same `App::from_env` as the local gateway.

/// `App::from_env` requires a cursor key, which creating tables does not use: base64 of 32
/// bytes, when `CURSOR_SECRET` is not set.
const UNUSED_CURSOR_SECRET: &str = "Y3JlYXRlLXRhYmxlcyBkb2VzIG5vdCB1c2UgaXQgISE=";

fn main() {
    if std::env::var_os("CURSOR_SECRET").is_none() {
        // SAFETY: no other thread exists yet (the runtime is built below), so nothing reads
        // the environment concurrently.
        unsafe { std::env::set_var("CURSOR_SECRET", UNUSED_CURSOR_SECRET) };
    }
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
    let app = shared::App::from_env().await?;
    shared::schema::ensure_tables(&app).await?;
    println!(
        "{}, {} and {} ready",
        app.requests.table(),
        app.requests.events_table(),
        app.catalog.table()
    );
    Ok(())
}
