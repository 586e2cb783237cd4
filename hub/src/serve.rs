//! `spec-kitty-hub serve`: the router, plain or TLS, and a graceful stop.

use crate::DataArg;
use crate::auth::SigningKey;
use crate::hub::{Hub, Settings};
use crate::{http, ws};
use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Args)]
pub struct ServeArgs {
    /// Where to listen; port 0 picks a free one (the line printed at start says which).
    #[arg(long, env = "SPEC_KITTY_HUB_ADDR", default_value = "127.0.0.1:8765")]
    addr: SocketAddr,
    #[command(flatten)]
    data: DataArg,
    /// PEM certificate chain: serve https and wss (with --tls-key).
    #[arg(long, env = "SPEC_KITTY_HUB_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "SPEC_KITTY_HUB_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest request body, compressed or decompressed; larger is 413.
    #[arg(long, env = "SPEC_KITTY_HUB_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Batch requests per second per user (the burst is the same); 0: no limit.
    #[arg(long, env = "SPEC_KITTY_HUB_RATE_LIMIT", default_value_t = 20)]
    rate_limit: u32,
    /// Access token lifetime in seconds.
    #[arg(long, env = "SPEC_KITTY_HUB_ACCESS_TTL", default_value_t = 900)]
    access_ttl: u64,
    /// Refresh token lifetime in seconds.
    #[arg(long, env = "SPEC_KITTY_HUB_REFRESH_TTL", default_value_t = 604_800)]
    refresh_ttl: u64,
    /// Seconds between the server's WebSocket pings.
    #[arg(long, env = "SPEC_KITTY_HUB_PING_INTERVAL", default_value_t = 30)]
    ping_interval: u64,
}

/// A client has this long to send its request headers (slowloris); the body has its own timeout.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(args: ServeArgs) -> Result<()> {
    // Each password check takes ~19 MiB; glibc keeps such freed blocks in its arenas unless they were
    // mmap'ed, so a login flood would leave the hub at hundreds of MiB. Large blocks go to mmap and
    // back to the system when freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator tunable; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SPEC_KITTY_HUB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    // Small by default: the hub's work is short requests; SQLite work goes to the blocking pool.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/health/", get(http::health))
        .route("/metrics", get(http::metrics))
        .route("/api/v1/token/", post(http::token))
        .route("/api/v1/token/refresh/", post(http::refresh))
        .route("/api/v1/ws-token/", post(http::ws_token))
        .route("/api/v1/events/batch/", post(http::batch))
        .route("/api/v1/events/", get(http::events))
        .route("/api/v1/board/", get(http::board))
        .route("/ws/v1/events/", get(ws::upgrade))
        .route("/api/dossier/push-content/", post(http::no_dossier_store))
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(middleware::from_fn(log_request))
        .with_state(hub)
}

/// One line per request: method, path (never the query, which may hold a ws token), status, time.
async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let micros = started.elapsed().as_micros();
    tracing::info!("{method} {path} {} {micros}us", response.status().as_u16());
    response
}

async fn serve(args: ServeArgs) -> Result<()> {
    let data = &args.data.data;
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    // One hub per data folder: two would share the store but not their WebSockets' fan-out.
    let lock_path = data.join("hub.lock");
    let data_lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    if data_lock.try_lock().is_err() {
        bail!("another spec-kitty-hub serves {} (it holds {})", data.display(), lock_path.display());
    }
    let store: Arc<dyn crate::store::EventStore> = Arc::new(crate::users::open_store(&args.data)?);
    let key = SigningKey::load_or_create(data)?;
    let settings = Settings {
        max_body_bytes: args.max_body_bytes,
        access_ttl_secs: args.access_ttl,
        refresh_ttl_secs: args.refresh_ttl,
        ping_interval_secs: args.ping_interval,
    };
    let (stop, stopping) = watch::channel(false);
    let hub = Arc::new(Hub::new(store, key, settings, args.rate_limit, stopping));
    let app = router(Arc::clone(&hub)).into_make_service();

    let listener = std::net::TcpListener::bind(args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let scheme = if args.tls_cert.is_some() { "https" } else { "http" };
    let server = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await.with_context(|| {
                format!("cannot read the TLS certificate {} and key {}", cert.display(), key.display())
            })?;
            let mut server = axum_server::from_tcp_rustls(listener, config)?.handle(handle.clone());
            server.http_builder().http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            tokio::spawn(async move { server.serve(app).await })
        }
        (None, None) => {
            let mut server = axum_server::from_tcp(listener)?.handle(handle.clone());
            server.http_builder().http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            tokio::spawn(async move { server.serve(app).await })
        }
        _ => bail!("--tls-cert and --tls-key go together"),
    };
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "spec-kitty-hub listening on {scheme}://{bound}").and_then(|_| out.flush());
    }
    tracing::info!("serving {scheme}://{bound}, data in {}", data.display());

    let mut server = server;
    tokio::select! {
        result = &mut server => return result.context("the server stopped")?.context("the server failed"),
        _ = stop_signal() => {}
    }
    tracing::info!("stopping: finishing requests in flight, closing WebSockets");
    let _ = stop.send(true);
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
    server.await.context("the server stopped")?.context("the server failed")?;
    // Upgraded connections are not the server's to wait for: give each WebSocket task the time to
    // send its close frame before the runtime goes away (bounded).
    let until = Instant::now() + Duration::from_secs(5);
    while hub.metrics.websockets_open.load(std::sync::atomic::Ordering::Relaxed) > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::info!("stopped");
    drop(data_lock);
    Ok(())
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
