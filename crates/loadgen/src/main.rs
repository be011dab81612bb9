//! tweestap-load: the morning rush, measured from outside. Browser-like sign-ins (page,
//! password, code page, the code from tweestap's outbox file, code, arrival) at a fixed arrival
//! rate, open loop: a slow server gets the same arrivals, so waiting shows up as latency and
//! errors instead of a politely slowing client. Reports latency per step and per sign-in, errors
//! by kind, the server's CPU per sign-in and its memory (from /proc), and the Argon2id ceiling of
//! the same cores. See docs/benchmarks.md and `tools/bench-rush.sh`.

mod browser;
mod ceiling;
mod outbox;
mod procfs;
mod report;
mod signin;
mod stats;
mod students;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "tweestap-load",
    about = "Load generator for tweestap's sign-in"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write an import file of students with 06 numbers, for `tweestap user import`.
    Students {
        #[arg(long, default_value_t = 20_000)]
        count: u32,
        #[arg(long)]
        password: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign students in at a fixed arrival rate (or all at once) and report.
    Rush(RushArgs),
    /// Only measure what the cores can hash (Argon2id verifications per second).
    Ceiling {
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
}

#[derive(clap::Args)]
struct RushArgs {
    /// tweestap's base URL.
    #[arg(long)]
    url: String,
    /// The import file the students were created from.
    #[arg(long)]
    students: PathBuf,
    /// The password of rows that hold a hash.
    #[arg(long)]
    password: Option<String>,
    /// The file tweestap's `outbox` SMS gateway writes.
    #[arg(long)]
    outbox: PathBuf,
    /// Sign-ins arriving per second.
    #[arg(long, default_value_t = 33.0)]
    rate: f64,
    /// For how long sign-ins arrive.
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Instead of a rate: this many sign-ins arriving at the same moment.
    #[arg(long)]
    burst: Option<u32>,
    /// The first student to use (rounds can take different students).
    #[arg(long, default_value_t = 0)]
    first: usize,
    /// The server's process id, for its CPU time and memory.
    #[arg(long)]
    pid: Option<u32>,
    /// Measure the Argon2id ceiling of this machine for so many seconds before the load.
    #[arg(long, default_value_t = 0.0)]
    ceiling_secs: f64,
    /// Seconds to wait after the load before reading the server's memory again.
    #[arg(long, default_value_t = 5.0)]
    settle_secs: f64,
    /// How long a sign-in waits for its code to appear in the outbox.
    #[arg(long, default_value_t = 60.0)]
    sms_timeout_secs: f64,
    /// Measure the code check alone: bring every sign-in to its code page first, then enter
    /// the codes at the same rate and report the server's CPU per code.
    #[arg(long)]
    code_cpu: bool,
}

#[tokio::main]
async fn main() {
    let result = match Cli::parse().command {
        Command::Students {
            count,
            password,
            out,
        } => students::write(&out, count, &password)
            .map(|()| println!("wrote {count} students to {}", out.display())),
        Command::Ceiling { seconds } => {
            let threads = cores();
            let rate = ceiling::measure(threads, Duration::from_secs_f64(seconds));
            println!("argon2id ceiling: {rate:.1} verifications/s on {threads} threads");
            Ok(())
        }
        Command::Rush(args) => rush(args).await,
    };
    if let Err(e) = result {
        eprintln!("tweestap-load: {e}");
        std::process::exit(2);
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

async fn rush(args: RushArgs) -> Result<(), String> {
    let students = students::read(&args.students, args.password.as_deref())?;
    let ceiling = (args.ceiling_secs > 0.0).then(|| {
        let threads = cores();
        (
            threads,
            ceiling::measure(threads, Duration::from_secs_f64(args.ceiling_secs)),
        )
    });
    let outbox = outbox::Outbox::follow(args.outbox.clone()).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| e.to_string())?;
    let (count, interval) = match args.burst {
        Some(n) => (n as usize, Duration::ZERO),
        None => (
            (args.rate * args.seconds).round() as usize,
            Duration::from_secs_f64(1.0 / args.rate),
        ),
    };
    if count > students.len() {
        return Err(format!(
            "{count} sign-ins need as many students; the file has {}",
            students.len()
        ));
    }
    let base: &'static str = Box::leak(args.url.clone().into_boxed_str());
    let outbox: &'static outbox::Outbox = Box::leak(Box::new(outbox));
    let run = Arc::new(signin::Run {
        client,
        base,
        outbox,
        sms_timeout: Duration::from_secs_f64(args.sms_timeout_secs),
    });
    let chosen: Vec<_> = (0..count)
        .map(|i| students[(args.first + i) % students.len()].clone())
        .collect();
    if args.code_cpu {
        let pid = args.pid.ok_or("--code-cpu needs --pid")?;
        return code_cpu(run, chosen, interval, pid).await;
    }
    let server_cpu_before = args.pid.and_then(procfs::cpu_secs);
    let own_cpu_before = procfs::cpu_secs(std::process::id());
    let rss_before = args.pid.and_then(procfs::rss_kib);
    let peak = args.pid.map(procfs::PeakMemory::watch);

    let started = Instant::now();
    // Open loop: each arrival has its moment, whatever became of the earlier ones.
    let finished = paced(&run, chosen, interval, |run, student| async move {
        let outcome = run.sign_in(&student).await;
        (outcome, Instant::now())
    })
    .await?;
    let last_done = finished
        .iter()
        .map(|(_, done)| *done)
        .max()
        .unwrap_or(started);
    let outcomes: Vec<signin::Outcome> = finished.into_iter().map(|(o, _)| o).collect();
    let wall = last_done - started;
    let server_cpu = args
        .pid
        .and_then(procfs::cpu_secs)
        .zip(server_cpu_before)
        .map(|(after, before)| after - before);
    let own_cpu = procfs::cpu_secs(std::process::id())
        .zip(own_cpu_before)
        .map(|(after, before)| after - before);
    let peak = peak.map(procfs::PeakMemory::stop);
    tokio::time::sleep(Duration::from_secs_f64(args.settle_secs)).await;
    let rss_after = args.pid.and_then(procfs::rss_kib);

    let report = report::Report {
        offered: match args.burst {
            Some(n) => format!("a burst of {n} sign-ins at once"),
            None => format!(
                "{:.1} sign-ins/s for {:.1} s ({count} sign-ins)",
                args.rate, args.seconds
            ),
        },
        outcomes,
        wall,
        server_cpu,
        own_cpu,
        memory: (rss_before, peak, rss_after),
        ceiling,
    };
    report.print();
    Ok(())
}

/// Every sign-in to its code page first (at the arrival rate), then, on a quiet server, the
/// codes at the same rate: the server's CPU time over the second phase is the code check's.
async fn code_cpu(
    run: Arc<signin::Run<'static>>,
    students: Vec<students::Student>,
    interval: Duration,
    pid: u32,
) -> Result<(), String> {
    let offered = students.len();
    let at_code = paced(&run, students, interval, |run, student| async move {
        let mut outcome = signin::Outcome::default();
        run.until_code(&student, &mut outcome).await
    })
    .await?;
    let ready: Vec<signin::AtCode> = at_code.into_iter().filter_map(Result::ok).collect();
    // Let the SMS worker and the hashing threads fall quiet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = procfs::cpu_secs(pid).ok_or("cannot read the server's CPU time")?;
    let entered = paced(&run, ready, interval, |run, at| async move {
        let mut outcome = signin::Outcome::default();
        run.enter_code(at, &mut outcome, false)
            .await
            .map(|()| outcome.steps)
    })
    .await?;
    let cpu = procfs::cpu_secs(pid).ok_or("cannot read the server's CPU time")? - before;
    let errors = stats::by_kind(entered.iter().filter_map(|r| r.as_ref().err()));
    let times: Vec<Duration> = entered
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .flat_map(|steps| steps.iter().map(|(_, d)| *d))
        .collect();
    println!("code checks: {} entered", times.len());
    for (kind, n) in &errors {
        println!("error:     {n} × {kind}");
    }
    println!("{}", stats::line("code", &times));
    let per_code = cpu * 1000.0 / times.len().max(1) as f64;
    println!("server CPU: {cpu:.3} s, {per_code:.2} ms per code check");
    let summary = serde_json::json!({
        "offered": offered,
        "completed": times.len(),
        "errors": errors.values().sum::<usize>(),
        "code_p50_ms": stats::summary(&times).map(|s| s.p50),
        "server_cpu_ms_per_code": per_code,
    });
    println!("RESULT {summary}");
    Ok(())
}

/// Runs `job` for each item at its own moment, `interval` apart (open loop), and collects the
/// results in order.
async fn paced<T, R, F, Fut>(
    run: &Arc<signin::Run<'static>>,
    items: Vec<T>,
    interval: Duration,
    job: F,
) -> Result<Vec<R>, String>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Arc<signin::Run<'static>>, T) -> Fut,
    Fut: std::future::Future<Output = R> + Send + 'static,
{
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        tokio::time::sleep_until((started + interval * i as u32).into()).await;
        tasks.push(tokio::spawn(job(run.clone(), item)));
    }
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.map_err(|e| e.to_string())?);
    }
    Ok(results)
}
