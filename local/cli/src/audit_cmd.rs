//! `aegis audit ...`: verify a trail, write a digest, make a key, measure, and the hidden
//! `stress-append` the crash test drives.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aegis_core::audit::{self, AuditEvent, AuditSigner, InvocationStatus, VerifyOptions};
use aegis_core::config::AuditLogLocation;
use aegis_storage::audit_log::{AuditLogger, AuditLoggerOptions, AuditTarget};
use aegis_storage::embedded::FileAuditSink;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};

/// `aegis audit verify --help`, after the options (docs/audit.md has the full table).
const VERIFY_HELP: &str = "\
The report says what it covered: chains, segments, records and digests read, the newest
digest and the end of its period, the newest record, and the newest record a digest lists;
with --table also the hot log's unsealed records and the newest of them.

Exit codes: 0 intact; 10 record modified; 11 deleted; 12 reordered; 13 chain truncated;
14 forged digest; 15 digest gap; 16 corrupt; 17 unseen head (single file); 18 no recent
digest (with --public-key and --max-digest-age); 2 the verifier could not run. With
several findings, the smallest code.

Deleting the newest segments together with every digest that lists them (tail truncation)
is detected only with both --public-key and --max-digest-age: then no digest at all, or
none signed by that key within the age, is exit 18.";

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify audit segments and digests (exit 0: intact; 10-18: tampering, by class)
    #[command(after_help = VERIFY_HELP)]
    Verify(VerifyArgs),
    /// Write the next signed digest now (the jobs function does this on a schedule)
    Digest(DigestArgs),
    /// Seal the DynamoDB hot log into S3 segments now, then sign a digest when a key is
    /// given (the jobs function's `audit_digest` does both on its schedule)
    Seal(SealArgs),
    /// Make a new digest signing key: prints `AUDIT_SIGNING_KEY` and its public key
    Keygen,
    /// Measure the cost of a durable record and the verifier's throughput
    Bench(BenchArgs),
    /// Append records until killed, printing `ack <chain_id> <seq>` per durable record
    #[command(hide = true)]
    StressAppend(StressArgs),
}

/// Without `--dir`, `--path` or `--s3`, `verify` checks the trail the gateway writes:
/// `AUDIT_LOG_PATH` (environment or `.env`), else `make dev`'s `.data/audit` when it exists,
/// else the gateway's default `$DATA_DIR/audit.log`.
#[derive(Args)]
pub struct VerifyArgs {
    /// A segments-and-digests directory (`AUDIT_LOG_PATH` in segment mode); a file is
    /// verified as a single JSON-lines file
    #[arg(long, conflicts_with_all = ["path", "s3"])]
    dir: Option<PathBuf>,
    /// Segments and digests in S3: `s3://bucket/prefix` (`AUDIT_S3_BUCKET`/`AUDIT_S3_PREFIX`);
    /// credentials from the AWS SDK's default chain (needs a build with the `aws` feature)
    #[arg(long, conflicts_with = "path")]
    s3: Option<String>,
    /// The bucket's region, with `--s3`
    #[arg(long, default_value = "us-east-1", requires = "s3")]
    region: String,
    /// An AWS API emulator instead of AWS (moto), with `--s3`
    #[arg(long, requires = "s3")]
    endpoint_url: Option<url::Url>,
    /// With `--s3`: also verify the unsealed tail in the DynamoDB hot log of this state
    /// table (`AEGIS_TABLE_NAME`, as for `aegis audit seal`): each chain's batches the
    /// sealer has not sealed yet must continue its sealed segments
    #[arg(long, requires = "s3", conflicts_with_all = ["dir", "path"])]
    table: Option<String>,
    /// Single-file mode: JSON-lines files, oldest first (`--path audit.log.1 --path audit.log`);
    /// one directory is verified as segments and digests
    #[arg(long)]
    path: Vec<PathBuf>,
    /// The digest public key to trust (64 hex digits or base64); without it digests are
    /// checked against the key they carry
    #[arg(long)]
    public_key: Option<String>,
    /// Single-file mode: accept a first line linking to a record not given (copytruncate)
    #[arg(long)]
    allow_rotated_head: bool,
    /// Fail when the newest digest ended more than this many seconds ago. With
    /// `--public-key`: fail (exit 18) when no digest signed by that key ended within this
    /// age, or there is no digest at all, so a truncated tail cannot hide; without it a
    /// stale newest digest is a digest gap (exit 15) and no digest at all only a note
    #[arg(long)]
    max_digest_age: Option<i64>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct DigestArgs {
    #[arg(long)]
    dir: PathBuf,
    /// A file holding the signing key seed (never pass a key on the command line)
    #[arg(long)]
    signing_key_file: PathBuf,
    /// The period's end, RFC 3339 (default: now)
    #[arg(long)]
    period_end: Option<String>,
}

#[derive(Args)]
pub struct SealArgs {
    /// The state table holding the hot log (`AEGIS_TABLE_NAME`)
    #[arg(long)]
    table: String,
    /// The sealed trail: `s3://bucket/prefix` (`AUDIT_S3_BUCKET`/`AUDIT_S3_PREFIX`)
    #[arg(long)]
    s3: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// An AWS API emulator instead of AWS (moto)
    #[arg(long)]
    endpoint_url: Option<url::Url>,
    /// Sign a digest after sealing, with the seed in this file
    #[arg(long)]
    signing_key_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Where to write (use the disk production writes to: fsync cost is the point)
    #[arg(long)]
    dir: PathBuf,
    /// Records per scenario
    #[arg(long, default_value_t = 2000)]
    records: usize,
    /// Concurrent writers in the concurrent scenarios
    #[arg(long, default_value_t = 8)]
    writers: usize,
}

#[derive(Args)]
pub struct StressArgs {
    #[arg(long, conflicts_with = "path", required_unless_present = "path")]
    dir: Option<PathBuf>,
    #[arg(long)]
    path: Option<PathBuf>,
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Concurrent tasks sharing the logger
    #[arg(long, default_value_t = 4)]
    tasks: usize,
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        match cmd {
            AuditCommand::Verify(args) => verify(args).await,
            AuditCommand::Digest(args) => digest(args).await,
            AuditCommand::Seal(args) => seal(args).await,
            AuditCommand::Keygen => keygen(),
            AuditCommand::Bench(args) => bench(args).await,
            AuditCommand::StressAppend(args) => stress_append(args).await,
        }
    })
}

async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let options = VerifyOptions {
        public_key: args
            .public_key
            .as_deref()
            .map(audit::parse_public_key)
            .transpose()?,
        allow_rotated_head: args.allow_rotated_head,
        max_digest_age: args.max_digest_age.map(time::Duration::seconds),
    };
    let report = if let Some(location) = &args.s3 {
        let aws = AwsTrail {
            location,
            table: args.table.as_deref(),
            region: &args.region,
            endpoint_url: args.endpoint_url.as_ref(),
        };
        verify_s3(&aws, &options).await?
    } else {
        match local_trail(args.dir, args.path)? {
            Trail::Segments(dir) => audit::verify(&FileAuditSink::new(dir), &options).await?,
            Trail::Files(files) => audit::verify_json_lines(&files, &options)?,
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render_text());
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// A local trail to verify: a segments-and-digests directory, or JSON-lines files.
#[derive(Debug, PartialEq, Eq)]
enum Trail {
    Segments(PathBuf),
    Files(Vec<PathBuf>),
}

/// `make dev`'s trail (`local/dev.sh` sets `AUDIT_LOG_PATH=.data/audit`), relative to the
/// checkout the command runs in.
const MAKE_DEV_TRAIL: &str = ".data/audit";

/// The trail `--dir`/`--path` name, or the gateway's own when neither is given. Whether a
/// location is a directory decides the mode, whichever flag named it.
fn local_trail(dir: Option<PathBuf>, paths: Vec<PathBuf>) -> anyhow::Result<Trail> {
    if let Some(dir) = dir {
        return trail_at(dir, "--dir");
    }
    match paths.len() {
        0 => {
            let (path, from) =
                default_trail(AuditLogLocation::from_env(), Path::new(MAKE_DEV_TRAIL));
            let trail = trail_at(path.clone(), from)?;
            eprintln!("aegis: verifying `{}` ({from})", path.display());
            Ok(trail)
        }
        1 => trail_at(paths.into_iter().next().unwrap_or_default(), "--path"),
        _ => {
            if let Some(dir) = paths.iter().find(|p| p.is_dir()) {
                bail!(
                    "`{}` is a directory: a segments directory is verified alone (`--dir {0}`), \
                     several `--path` files are JSON-lines files, oldest first",
                    dir.display()
                );
            }
            Ok(Trail::Files(paths))
        }
    }
}

/// Which trail `audit verify` checks without arguments, and why: the gateway's configured
/// one, else `make dev`'s when it exists here, else the gateway's default location.
fn default_trail(gateway: AuditLogLocation, make_dev: &Path) -> (PathBuf, &'static str) {
    match gateway {
        AuditLogLocation::Configured(path) => (path, "from AUDIT_LOG_PATH"),
        AuditLogLocation::UnderDataDir(path) => (path, "the default under DATA_DIR"),
        AuditLogLocation::Default(_) if make_dev.is_dir() => (
            make_dev.to_path_buf(),
            "make dev's trail; AUDIT_LOG_PATH is not set",
        ),
        AuditLogLocation::Default(path) => {
            (path, "the gateway's default; AUDIT_LOG_PATH is not set")
        }
    }
}

fn trail_at(path: PathBuf, from: &str) -> anyhow::Result<Trail> {
    if path.is_dir() {
        Ok(Trail::Segments(path))
    } else if path.exists() {
        Ok(Trail::Files(vec![path]))
    } else {
        bail!(
            "no audit trail at `{}` ({from}): pass `--dir DIR` (segments and digests) or `--path FILE` (a JSON-lines file)",
            path.display()
        )
    }
}

/// A trail in AWS: the sealed segments at `location` (`s3://bucket/prefix`), and the hot
/// log in `table` when its unsealed tail is asked for. (Read only by the `aws` build; without
/// it `--s3` is refused after parsing.)
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
struct AwsTrail<'a> {
    location: &'a str,
    table: Option<&'a str>,
    region: &'a str,
    endpoint_url: Option<&'a url::Url>,
}

#[cfg(feature = "aws")]
async fn verify_s3(trail: &AwsTrail<'_>, options: &VerifyOptions) -> anyhow::Result<audit::Report> {
    use aegis_storage::aws::{audit_source, sealer_stores, Credentials};
    // The roots the gateway would trust (`SSL_CERT_FILE`, `SSL_CERT_DIR`): an operator
    // behind a TLS-inspecting proxy names its CA the same way.
    let tls = aegis_core::config::TlsTrust::from_env()?;
    aegis_http::set_roots(aegis_http::Roots::from_paths(tls.cert_file, tls.cert_dirs))?;
    let credentials = Credentials::DefaultChain;
    let Some(table) = trail.table else {
        let source = audit_source(
            trail.location,
            trail.region,
            trail.endpoint_url,
            credentials,
        )
        .await?;
        return Ok(audit::verify(&source, options).await?);
    };
    let (hot, sealed) = sealer_stores(
        table,
        trail.location,
        trail.region,
        trail.endpoint_url,
        credentials,
    )
    .await?;
    Ok(audit::verify_with_tail(&sealed, &hot, options).await?)
}

#[cfg(not(feature = "aws"))]
async fn verify_s3(
    _trail: &AwsTrail<'_>,
    _options: &VerifyOptions,
) -> anyhow::Result<audit::Report> {
    bail!("`--s3` needs a build with the `aws` feature (cargo build -p aegis-cli --features aws)")
}

async fn digest(args: DigestArgs) -> anyhow::Result<ExitCode> {
    let seed = std::fs::read_to_string(&args.signing_key_file)
        .with_context(|| format!("could not read `{}`", args.signing_key_file.display()))?;
    let signer = AuditSigner::parse(&seed)?;
    let period_end = match args.period_end {
        Some(s) => audit::format::parse_timestamp(&s)
            .with_context(|| format!("`{s}` is not an RFC 3339 time"))?,
        None => time::OffsetDateTime::now_utc(),
    };
    let sink = FileAuditSink::new(&args.dir);
    let digest = audit::write_digest(&sink, &signer, period_end).await?;
    println!(
        "digest {} ({} .. {}): {} segments, signed by {}",
        digest.sequence,
        digest.period_start.as_deref().unwrap_or("start"),
        digest.period_end,
        digest.segments.len(),
        digest.public_key
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the sealer's report as JSON; exit 3 when a chain is stopped (a gap, a fork
/// attempt or a record that does not hash: see the report).
#[cfg(feature = "aws")]
async fn seal(args: SealArgs) -> anyhow::Result<ExitCode> {
    use aegis_storage::aws::{sealer_stores, Credentials};
    let signer = match &args.signing_key_file {
        Some(path) => Some(AuditSigner::parse(
            &std::fs::read_to_string(path)
                .with_context(|| format!("could not read `{}`", path.display()))?,
        )?),
        None => None,
    };
    let (hot, sealed) = sealer_stores(
        &args.table,
        &args.s3,
        &args.region,
        args.endpoint_url.as_ref(),
        Credentials::DefaultChain,
    )
    .await?;
    let now = time::OffsetDateTime::now_utc();
    let report = audit::seal(&hot, &sealed, &audit::SealOptions::at(now)).await?;
    let digest = match &signer {
        Some(signer) => Some(audit::write_digest(&sealed, signer, now).await?.sequence),
        None => None,
    };
    // What the jobs function reports as `aegis_audit_seal_lag_seconds`.
    let lag_seconds = report.lag(now).whole_seconds();
    println!(
        "{}",
        serde_json::json!({ "sealed": report, "digest": digest, "lag_seconds": lag_seconds })
    );
    Ok(if report.stopped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

#[cfg(not(feature = "aws"))]
async fn seal(_args: SealArgs) -> anyhow::Result<ExitCode> {
    bail!("`seal` needs a build with the `aws` feature (cargo build -p aegis-cli --features aws)")
}

fn keygen() -> anyhow::Result<ExitCode> {
    let signer = AuditSigner::generate()?;
    println!("AUDIT_SIGNING_KEY={}", signer.seed_hex());
    println!("# public key, for `aegis audit verify --public-key`:");
    println!("# {}", signer.public_key_hex());
    Ok(ExitCode::SUCCESS)
}

fn bench_event(n: usize) -> AuditEvent {
    AuditEvent::tool_invocation("get_file_contents", InvocationStatus::Success)
        .with_principal("api-key:1a2b3c4d")
        .with_repository("acme/app")
        .with_request_id(format!("req-{n}"))
        .with_decision("allow")
        .with_outcome("ok")
        .with_context("path", "src/main.rs")
}

async fn open_logger(dir: &std::path::Path) -> anyhow::Result<AuditLogger> {
    Ok(AuditLogger::open(
        AuditTarget::Segments(Arc::new(FileAuditSink::new(dir))),
        AuditLoggerOptions::default(),
    )
    .await?)
}

/// Latencies of `per_writer` serial records on each of `loggers`, all at once.
async fn run_scenario(
    loggers: Vec<AuditLogger>,
    per_writer: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for logger in loggers {
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_writer);
            for i in 0..per_writer {
                let t = Instant::now();
                logger.record(bench_event(i)).await?;
                lat.push(t.elapsed());
            }
            Ok::<_, audit::AuditError>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((started.elapsed(), all))
}

fn summarize(name: &str, wall: Duration, mut lat: Vec<Duration>) -> String {
    lat.sort_unstable();
    let n = lat.len().max(1);
    let pct = |p: usize| {
        lat.get((lat.len() * p / 100).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    format!(
        "| {name} | {} | {:.0} | {:.0} | {:.0} | {:.0} |",
        lat.len(),
        wall.as_secs_f64() * 1e6 / n as f64,
        lat.iter().sum::<Duration>().as_secs_f64() * 1e6 / n as f64,
        pct(50).as_secs_f64() * 1e6,
        pct(99).as_secs_f64() * 1e6,
    )
}

async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let root = args.dir.join(format!("bench-{}", std::process::id()));
    let writers = args.writers.max(1);
    let per_writer = (args.records / writers).max(1);
    println!(
        "audit bench: {} records per scenario under `{}`",
        args.records,
        root.display()
    );
    println!();
    println!("| scenario | records | wall µs/record | mean latency µs | p50 µs | p99 µs |");
    println!("|---|---|---|---|---|---|");

    let single = root.join("single");
    let (wall, lat) = run_scenario(vec![open_logger(&single).await?], args.records).await?;
    println!(
        "{}",
        summarize("1 writer, serial (1 record per segment)", wall, lat)
    );

    let shared = root.join("shared");
    let logger = open_logger(&shared).await?;
    let (wall, lat) = run_scenario(vec![logger; writers], per_writer).await?;
    println!(
        "{}",
        summarize(
            &format!("{writers} tasks on 1 logger (group commit)"),
            wall,
            lat
        )
    );

    let many = root.join("many");
    let mut loggers = Vec::new();
    for _ in 0..writers {
        loggers.push(open_logger(&many).await?);
    }
    let (wall, lat) = run_scenario(loggers, per_writer).await?;
    println!(
        "{}",
        summarize(
            &format!("{writers} loggers ({writers} chains), serial each"),
            wall,
            lat
        )
    );

    // Count segments to show what group commit bought.
    let sink = FileAuditSink::new(&shared);
    let mut segments = 0;
    for chain in audit_chains(&sink).await? {
        segments += chain;
    }
    println!();
    println!(
        "group commit: {} records of the shared logger took {segments} segments",
        per_writer * writers
    );

    let signer = AuditSigner::generate()?;
    let t = Instant::now();
    let digest = audit::write_digest(
        &FileAuditSink::new(&many),
        &signer,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    println!(
        "digest over {} segments: {:.1} ms",
        digest.segments.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let options = VerifyOptions {
        public_key: Some(audit::parse_public_key(&signer.public_key_hex())?),
        ..VerifyOptions::default()
    };
    for (name, dir) in [
        ("1 record per segment", &many),
        ("group-committed", &shared),
    ] {
        let t = Instant::now();
        let report = audit::verify(&FileAuditSink::new(dir), &options).await?;
        let secs = t.elapsed().as_secs_f64();
        if !report.ok() {
            bail!(
                "the verifier rejected the bench trail:\n{}",
                report.render_text()
            );
        }
        println!(
            "verifier ({name}): {} records in {} segments in {:.1} ms = {:.0} records/s",
            report.records,
            report.segments,
            secs * 1e3,
            report.records as f64 / secs,
        );
    }
    std::fs::remove_dir_all(&root).ok();
    Ok(ExitCode::SUCCESS)
}

async fn audit_chains(sink: &FileAuditSink) -> anyhow::Result<Vec<usize>> {
    use aegis_storage::AuditSource;
    let mut out = Vec::new();
    for chain in sink.chains().await? {
        out.push(sink.segment_numbers(&chain, None).await?.len());
    }
    Ok(out)
}

async fn stress_append(args: StressArgs) -> anyhow::Result<ExitCode> {
    let target = match (args.dir, args.path) {
        (Some(dir), _) => AuditTarget::Segments(Arc::new(FileAuditSink::new(dir))),
        (None, Some(path)) => AuditTarget::JsonLines(path),
        (None, None) => bail!("pass `--dir` or `--path`"),
    };
    let logger = AuditLogger::open(target, AuditLoggerOptions::default()).await?;
    let tasks = args.tasks.max(1);
    let per_task = args.records.div_ceil(tasks);
    let mut handles = Vec::new();
    for t in 0..tasks {
        let logger = logger.clone();
        handles.push(tokio::spawn(async move {
            use std::io::Write;
            for i in 0..per_task {
                let r = logger.record(bench_event(t * per_task + i)).await?;
                // Printed only once durable: the parent treats each line as a promise.
                let mut out = std::io::stdout().lock();
                writeln!(out, "ack {} {}", r.chain_id, r.seq)?;
                out.flush()?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for h in handles {
        h.await??;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_verified_by_what_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("audit");
        std::fs::create_dir(&dir).unwrap();
        let file = tmp.path().join("audit.log");
        std::fs::write(&file, "").unwrap();
        let missing = tmp.path().join("nothing");

        // (--dir, --path..., expected trail or error fragment)
        type Case<'a> = (
            Option<&'a PathBuf>,
            Vec<&'a PathBuf>,
            Result<Trail, &'a str>,
        );
        let cases: Vec<Case> = vec![
            (Some(&dir), vec![], Ok(Trail::Segments(dir.clone()))),
            (None, vec![&dir], Ok(Trail::Segments(dir.clone()))),
            (Some(&file), vec![], Ok(Trail::Files(vec![file.clone()]))),
            (None, vec![&file], Ok(Trail::Files(vec![file.clone()]))),
            (
                None,
                vec![&file, &file],
                Ok(Trail::Files(vec![file.clone(), file.clone()])),
            ),
            (None, vec![&file, &dir], Err("is a directory")),
            (Some(&missing), vec![], Err("no audit trail at")),
            (None, vec![&missing], Err("pass `--dir DIR`")),
        ];
        for (d, p, expected) in cases {
            let got = local_trail(d.cloned(), p.into_iter().cloned().collect());
            match (got, expected) {
                (Ok(trail), Ok(want)) => assert_eq!(trail, want),
                (Err(e), Err(fragment)) => {
                    let text = aegis_core::error_chain(e.as_ref());
                    assert!(text.contains(fragment), "{text}");
                    // The error names the location once, never the OS error twice.
                    assert_eq!(text.matches("os error").count(), 0, "{text}");
                }
                (got, want) => panic!("{d:?} {want:?}: got {got:?}"),
            }
        }
    }

    #[test]
    fn the_hot_log_tail_is_read_only_with_an_s3_trail() {
        use clap::Parser;
        #[derive(Parser)]
        struct Verify {
            #[command(flatten)]
            args: VerifyArgs,
        }
        let parse = |argv: &[&str]| {
            Verify::try_parse_from(std::iter::once("verify").chain(argv.iter().copied()))
                .map(|v| v.args.table)
        };
        let with_tail = parse(&["--s3", "s3://b/p", "--table", "state"]).unwrap();
        assert_eq!(with_tail.as_deref(), Some("state"));
        assert_eq!(parse(&["--s3", "s3://b/p"]).unwrap(), None);
        // The tail continues a sealed trail: without `--s3` there is none to continue.
        for argv in [
            &["--table", "state"][..],
            &["--dir", "d", "--table", "state"],
        ] {
            let err = parse(argv)
                .err()
                .unwrap_or_else(|| panic!("{argv:?} refused"));
            assert!(err.to_string().contains("--table"), "{err}");
        }
    }

    #[test]
    fn without_arguments_the_gateway_trail_is_verified() {
        let tmp = tempfile::tempdir().unwrap();
        let make_dev = tmp.path().join(".data/audit");
        let default = PathBuf::from("/var/lib/aegis-mcp/audit.log");
        let configured = PathBuf::from("/srv/audit");
        let cases = [
            // AUDIT_LOG_PATH wins, even over a make dev trail that exists
            (
                AuditLogLocation::Configured(configured.clone()),
                true,
                configured.clone(),
                "AUDIT_LOG_PATH",
            ),
            (
                AuditLogLocation::UnderDataDir(PathBuf::from("/data/audit.log")),
                false,
                PathBuf::from("/data/audit.log"),
                "DATA_DIR",
            ),
            (
                AuditLogLocation::Default(default.clone()),
                true,
                make_dev.clone(),
                "make dev",
            ),
            (
                AuditLogLocation::Default(default.clone()),
                false,
                default.clone(),
                "default",
            ),
        ];
        for (gateway, exists, want, why) in cases {
            if exists {
                std::fs::create_dir_all(&make_dev).unwrap();
            } else {
                let _ = std::fs::remove_dir_all(&make_dev);
            }
            let (path, from) = default_trail(gateway, &make_dev);
            assert_eq!(path, want);
            assert!(from.contains(why), "{from}");
        }
    }
}
