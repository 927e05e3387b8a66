//! `aegis-bench`: the gateway's per-call overhead and throughput, rerunnable (`make bench`).
//!
//! Starts the Gitea simulator and the shim's router in this process on loopback, then
//! measures the same read two ways: the Gitea request made directly, and `tools/call
//! get_repository_info` through `/mcp` (authenticated, every edge layer on). Prints a
//! Markdown table and writes JSON to `--json PATH` when given.
//!
//! Options: `--audit segments|file` (the audit trail's mode, default segments), `--calls N`
//! (latency samples per path, default 2000), `--seconds S` (per throughput run, default 5),
//! `--concurrency 1,8,64`, `--seed PATH`, `--json PATH`, `--shim PATH` (an `aegis-local`
//! binary: started as its own process against the same simulator, loaded at the highest
//! concurrency, and its resident memory read from `/proc`; then loaded with `list_labels`
//! calls at 16 and at 64 clients, and its CPU time per call read from `/proc/<pid>/stat`),
//! `--cpu-endpoint mcp|rest` (those calls over `/mcp`, the default, or over the REST
//! endpoint `/mcp/tool/call`, which skips the MCP transport: the difference is its cost).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

const API_KEY: &str = "bench-api-key-0123456789abcdef0123456789abcdef";
const TOKEN: &str = "alice-token-0001a4519d63df9568768119d218";

struct Args {
    calls: usize,
    seed: String,
    json: Option<String>,
    concurrency: Vec<usize>,
    duration: Duration,
    audit_file: bool,
    shim: Option<String>,
    /// Measure server CPU on `/mcp/tool/call` (the REST endpoint, no MCP transport) instead of `/mcp`
    cpu_rest: bool,
}

const USAGE: &str = "usage: aegis-bench [--audit segments|file] [--calls N] [--seconds S] \
[--concurrency 1,8,64] [--seed PATH] [--json PATH] [--shim PATH] [--cpu-endpoint mcp|rest]
(what each measures: the module doc of local/src/bin/aegis-bench.rs, or docs/PERFORMANCE.md)";

/// The arguments, or `None` for `--help`.
fn parse_args(argv: impl IntoIterator<Item = String>) -> anyhow::Result<Option<Args>> {
    let mut args = Args {
        calls: 2000,
        seed: "local/gitea-sim/seed/demo.yaml".into(),
        json: None,
        concurrency: vec![1, 8, 64],
        duration: Duration::from_secs(5),
        audit_file: false,
        shim: None,
        cpu_rest: false,
    };
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("`{a}` needs a value"));
        match a.as_str() {
            "--calls" => args.calls = value()?.parse()?,
            "--seed" => args.seed = value()?,
            "--audit" => {
                args.audit_file = match value()?.as_str() {
                    "file" => true,
                    "segments" => false,
                    other => anyhow::bail!("`--audit` is `file` or `segments`, not `{other}`"),
                }
            }
            "--json" => args.json = Some(value()?),
            "--shim" => args.shim = Some(value()?),
            "--cpu-endpoint" => {
                args.cpu_rest = match value()?.as_str() {
                    "mcp" => false,
                    "rest" => true,
                    other => anyhow::bail!("`--cpu-endpoint` is `mcp` or `rest`, not `{other}`"),
                }
            }
            "--seconds" => args.duration = Duration::from_secs(value()?.parse()?),
            "--concurrency" => {
                args.concurrency = value()?
                    .split(',')
                    .map(|c| c.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "-h" | "--help" => return Ok(None),
            other => anyhow::bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    Ok(Some(args))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[derive(Clone)]
struct Caller {
    client: reqwest::Client,
    direct_url: String,
    mcp_url: String,
    body: String,
}

impl Caller {
    async fn direct(&self) -> anyhow::Result<()> {
        let r = self
            .client
            .get(&self.direct_url)
            .header("authorization", format!("token {TOKEN}"))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "direct call: {}", r.status());
        r.bytes().await?;
        Ok(())
    }

    async fn gateway(&self) -> anyhow::Result<()> {
        let r = self
            .client
            .post(&self.mcp_url)
            .header("authorization", format!("Bearer {API_KEY}"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(self.body.clone())
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "gateway call: {}", r.status());
        let bytes = r.bytes().await?;
        anyhow::ensure!(
            !bytes.windows(14).any(|w| w == b"\"isError\":true"),
            "gateway call returned a tool error"
        );
        Ok(())
    }
}

/// A bad argument ends the run with the usage and status 2, a failed run with one
/// `error: ...` line and status 1 (no `Debug` dump, no backtrace).
#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let seed = gitea_sim::Seed::load(&args.seed)?;
    let sim = gitea_sim::spawn(seed).await?;

    let data = std::env::temp_dir().join(format!("aegis-bench-{}", std::process::id()));
    let vars: HashMap<String, String> = [
        ("GITEA_URL", sim.base_url.clone()),
        ("MCP_API_KEYS", API_KEY.into()),
        ("GITEA_TOKEN", TOKEN.into()),
        ("DATA_DIR", data.display().to_string()),
        (
            "DCR_STORAGE_PATH",
            data.join("dcr.json").display().to_string(),
        ),
        (
            "AUDIT_LOG_PATH",
            if args.audit_file {
                data.join("audit.log")
            } else {
                data.join("audit")
            }
            .display()
            .to_string(),
        ),
        ("LOG_LEVEL", "ERROR".into()),
        // The limiters run on every call (their cost is part of the overhead measured) but
        // never refuse one: a benchmark is a flood from one address with one key.
        ("RATE_LIMIT_PER_MINUTE", "1000000000".into()),
        ("TOKEN_RATE_LIMIT_PER_MINUTE", "1000000000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = aegis_core::Config::from_vars(&vars)?;
    let state = aegis_local::AppState::from_config(config).await?;
    let router = aegis_local::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let gw = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let caller = Caller {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?,
        direct_url: format!("{}/api/v1/repos/acme/app", sim.base_url),
        mcp_url: format!("{gw}/mcp"),
        body: json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "get_repository_info", "arguments": {"owner": "acme", "repo": "app"}}
        })
        .to_string(),
    };

    // Warm up both paths (connections, caches).
    for _ in 0..200 {
        caller.direct().await?;
        caller.gateway().await?;
    }

    // Latency: interleaved, so both paths see the same machine state.
    let mut d_lat = Vec::with_capacity(args.calls);
    let mut g_lat = Vec::with_capacity(args.calls);
    for _ in 0..args.calls {
        let t = Instant::now();
        caller.direct().await?;
        d_lat.push(t.elapsed());
        let t = Instant::now();
        caller.gateway().await?;
        g_lat.push(t.elapsed());
    }
    d_lat.sort();
    g_lat.sort();
    let (d50, d99) = (percentile(&d_lat, 0.5), percentile(&d_lat, 0.99));
    let (g50, g99) = (percentile(&g_lat, 0.5), percentile(&g_lat, 0.99));

    // Throughput through the gateway at each concurrency.
    let mut throughput = Vec::new();
    for &c in &args.concurrency {
        let (total, rps) = load(&caller, c, args.duration).await?;
        throughput.push((c, total, rps));
    }

    let shim = match &args.shim {
        Some(bin) => Some(shim_memory(bin, &vars, &caller, &args).await?),
        None => None,
    };
    let bench_rss = proc_status_kb(std::process::id(), "VmHWM:");

    println!("| measure | value |");
    println!("|---|---|");
    println!("| calls (each path) | {} |", args.calls);
    println!(
        "| direct Gitea median / p99 | {:.0} µs / {:.0} µs |",
        micros(d50),
        micros(d99)
    );
    println!(
        "| gateway tools/call median / p99 | {:.0} µs / {:.0} µs |",
        micros(g50),
        micros(g99)
    );
    println!(
        "| added latency median / p99 | {:.0} µs / {:.0} µs |",
        micros(g50.saturating_sub(d50)),
        micros(g99.saturating_sub(d99))
    );
    for (c, n, rps) in &throughput {
        println!("| throughput at {c} concurrent clients | {rps:.0} calls/s ({n} calls) |");
    }
    println!("| peak RSS of this process (simulator + gateway + clients) | {bench_rss} KiB |");
    if let Some(m) = &shim {
        println!(
            "| aegis-local resident memory: after start / after {} calls at {} clients (peak) | {} KiB / {} KiB ({} KiB) |",
            m.calls, m.concurrency, m.rss_start_kb, m.rss_kb, m.hwm_kb
        );
        for c in &m.cpu {
            println!(
                "| aegis-local server CPU per `{}` call at {} clients (user + system) | {:.0} µs ({:.0} + {:.0}), {:.0} calls/s |",
                c.tool,
                c.concurrency,
                c.user_us_per_call + c.system_us_per_call,
                c.user_us_per_call,
                c.system_us_per_call,
                c.rps
            );
        }
    }
    if let Some(path) = args.json {
        let report = json!({
            "bench_process_peak_rss_kb": bench_rss,
            "shim_memory": shim.as_ref().map(|m| json!({
                "rss_after_start_kb": m.rss_start_kb,
                "rss_after_load_kb": m.rss_kb,
                "peak_rss_kb": m.hwm_kb,
                "calls": m.calls,
                "concurrency": m.concurrency,
                "calls_per_second": m.rps,
                "cpu_per_call": m.cpu.iter().map(|c| json!({
                    "tool": c.tool,
                    "concurrency": c.concurrency,
                    "calls": c.calls,
                    "calls_per_second": c.rps,
                    "user_us": c.user_us_per_call,
                    "system_us": c.system_us_per_call,
                    "total_us": c.user_us_per_call + c.system_us_per_call,
                })).collect::<Vec<_>>(),
            })),
            "calls": args.calls,
            "direct_us": {"p50": micros(d50), "p99": micros(d99)},
            "gateway_us": {"p50": micros(g50), "p99": micros(g99)},
            "overhead_us": {
                "p50": micros(g50.saturating_sub(d50)),
                "p99": micros(g99.saturating_sub(d99)),
            },
            "throughput": throughput
                .iter()
                .map(|(c, n, rps)| json!({"concurrency": c, "calls": n, "per_second": rps}))
                .collect::<Vec<_>>(),
        });
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    }
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

/// Calls the gateway from `clients` tasks for `duration`: (calls, calls per second).
async fn load(caller: &Caller, clients: usize, duration: Duration) -> anyhow::Result<(u64, f64)> {
    let deadline = Instant::now() + duration;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let caller = caller.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                caller.gateway().await?;
                n += 1;
            }
            Ok::<_, anyhow::Error>(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok((total, total as f64 / start.elapsed().as_secs_f64()))
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`), 0 when unreadable.
fn proc_status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct ShimMemory {
    rss_start_kb: u64,
    rss_kb: u64,
    hwm_kb: u64,
    calls: u64,
    concurrency: usize,
    rps: f64,
    /// Server CPU (user + system) per call at each of `CPU_CONCURRENCY`
    cpu: Vec<ShimCpu>,
}

/// The shim process's CPU per call under one load.
struct ShimCpu {
    concurrency: usize,
    tool: &'static str,
    calls: u64,
    rps: f64,
    user_us_per_call: f64,
    system_us_per_call: f64,
}

/// Client counts at which the shim's CPU per call is measured.
const CPU_CONCURRENCY: [usize; 2] = [16, 64];

/// The call whose server CPU is measured: a read against a trivial upstream answer, so the
/// figure is the gateway's own work (auth, limits, policy, one upstream call, the secret
/// scanner, hygiene, the audit record).
const CPU_TOOL: &str = "list_labels";

/// `(utime, stime)` of a process in microseconds, from `/proc/<pid>/stat`.
fn proc_cpu_us(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    let hz = clock_ticks_per_second();
    Some((ticks(11)? * 1e6 / hz, ticks(12)? * 1e6 / hz))
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Starts `bin` (aegis-local) with the bench's variables on a free port, waits for its
/// `listening` line, loads it at the highest concurrency, reads its memory, stops it.
async fn shim_memory(
    bin: &str,
    vars: &HashMap<String, String>,
    caller: &Caller,
    args: &Args,
) -> anyhow::Result<ShimMemory> {
    use std::io::BufRead;
    let data = std::env::temp_dir().join(format!("aegis-bench-shim-{}", std::process::id()));
    let mut child = std::process::Command::new(bin)
        .env_clear()
        .envs(vars)
        .env("MCP_PORT", "0")
        .env("DATA_DIR", &data)
        .env("AUDIT_LOG_PATH", data.join("audit.log"))
        .env("DCR_STORAGE_PATH", data.join("dcr.json"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting `{bin}`"))?;
    let pid = child.id();
    let stdout = child.stdout.take().context("shim stdout")?;
    // The first line is the listening address, the only thing the shim prints to stdout
    // (its logs go to stderr).
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    });
    let line = match tokio::time::timeout(Duration::from_secs(30), first).await {
        Ok(Ok(Ok(line))) => line,
        _ => {
            let _ = child.kill();
            anyhow::bail!("the shim did not report its address within 30 s");
        }
    };
    let Some(url) = line.trim().strip_prefix("aegis-local listening on ") else {
        let _ = child.kill();
        anyhow::bail!("unexpected first line from the shim: `{}`", line.trim());
    };
    let rss_start_kb = proc_status_kb(pid, "VmRSS:");
    let shim_caller = Caller {
        mcp_url: format!("{url}/mcp"),
        ..caller.clone()
    };
    let concurrency = args.concurrency.iter().copied().max().unwrap_or(64);
    let loaded = load(&shim_caller, concurrency, args.duration).await;
    let (rss_kb, hwm_kb) = (proc_status_kb(pid, "VmRSS:"), proc_status_kb(pid, "VmHWM:"));
    let arguments = json!({"owner": "acme", "repo": "app"});
    let cpu_caller = if args.cpu_rest {
        Caller {
            mcp_url: format!("{url}/mcp/tool/call"),
            body: json!({"tool": CPU_TOOL, "arguments": arguments}).to_string(),
            ..shim_caller.clone()
        }
    } else {
        Caller {
            body: json!({
                "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": CPU_TOOL, "arguments": arguments}
            })
            .to_string(),
            ..shim_caller.clone()
        }
    };
    let mut cpu = Vec::new();
    for clients in CPU_CONCURRENCY {
        let before = proc_cpu_us(pid);
        let run = load(&cpu_caller, clients, args.duration).await;
        let after = proc_cpu_us(pid);
        if let (Ok((calls, rps)), Some(b), Some(a)) = (run, before, after) {
            let per_call = |x: f64| x / calls.max(1) as f64;
            cpu.push(ShimCpu {
                concurrency: clients,
                tool: CPU_TOOL,
                calls,
                rps,
                user_us_per_call: per_call(a.0 - b.0),
                system_us_per_call: per_call(a.1 - b.1),
            });
        }
    }
    let memory = loaded.map(|(calls, rps)| ShimMemory {
        rss_start_kb,
        rss_kb,
        hwm_kb,
        calls,
        concurrency,
        rps,
        cpu,
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
    memory
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Option<Args>> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn help_is_not_an_error_and_unknown_arguments_show_the_usage() {
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["-h"]).unwrap().is_none());
        let e = parse(&["--bogus"]).err().unwrap().to_string();
        assert!(
            e.contains("unknown argument `--bogus`") && e.contains("usage: aegis-bench"),
            "{e}"
        );
        let args = parse(&["--calls", "7", "--audit", "file"])
            .unwrap()
            .unwrap();
        assert_eq!((args.calls, args.audit_file), (7, true));
        assert!(parse(&["--calls"]).is_err());
    }
}
