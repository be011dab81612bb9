//! What a rush did, printed for people and, on the last line (`RESULT {json}`), for scripts
//! (tools/bench-rush.sh takes medians from it).

use std::time::Duration;

use crate::{signin, stats};

pub struct Report {
    pub offered: String,
    pub outcomes: Vec<signin::Outcome>,
    pub wall: Duration,
    pub server_cpu: Option<f64>,
    pub own_cpu: Option<f64>,
    pub memory: (Option<u64>, Option<u64>, Option<u64>),
    pub ceiling: Option<(usize, f64)>,
}

impl Report {
    pub fn print(&self) {
        let done: Vec<&signin::Outcome> =
            self.outcomes.iter().filter(|o| o.total.is_some()).collect();
        let throughput = done.len() as f64 / self.wall.as_secs_f64();
        println!("offered:   {}", self.offered);
        println!(
            "completed: {} of {} in {:.1} s ({throughput:.1} sign-ins/s)",
            done.len(),
            self.outcomes.len(),
            self.wall.as_secs_f64()
        );
        let errors = stats::by_kind(self.outcomes.iter().filter_map(|o| o.error.as_ref()));
        if errors.is_empty() {
            println!("errors:    none");
        }
        for (kind, n) in &errors {
            println!("error:     {n} × {kind}");
        }
        println!("latency of the completed sign-ins:");
        for step in signin::STEPS {
            let times: Vec<Duration> = done
                .iter()
                .flat_map(|o| o.steps.iter().filter(|(s, _)| *s == step).map(|(_, d)| *d))
                .collect();
            println!("{}", stats::line(step, &times));
        }
        let totals: Vec<Duration> = done.iter().filter_map(|o| o.total).collect();
        println!("{}", stats::line("whole sign-in", &totals));
        let served: Vec<Duration> = self
            .outcomes
            .iter()
            .flat_map(|o| o.served_password.iter().copied())
            .collect();
        let busy: Vec<Duration> = self
            .outcomes
            .iter()
            .flat_map(|o| o.busy.iter().copied())
            .collect();
        println!("password requests:");
        println!("{}", stats::line("served", &served));
        println!("{}", stats::line("busy (told to retry)", &busy));
        if let Some(cpu) = self.server_cpu {
            println!(
                "server CPU: {cpu:.2} s, {:.1} ms per completed sign-in",
                cpu * 1000.0 / done.len().max(1) as f64
            );
        }
        if let Some(cpu) = self.own_cpu {
            println!("load generator CPU: {cpu:.2} s");
        }
        let mib =
            |k: Option<u64>| k.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        if self.memory.0.is_some() {
            println!(
                "server memory (RSS): before {}, peak {}, after settling {}",
                mib(self.memory.0),
                mib(self.memory.1),
                mib(self.memory.2)
            );
        }
        if let Some((threads, rate)) = self.ceiling {
            println!(
                "argon2id ceiling: {rate:.1} verifications/s on {threads} threads; completed ÷ ceiling = {:.2}",
                throughput / rate
            );
        }
        let summary = serde_json::json!({
            "completed": done.len(),
            "offered": self.outcomes.len(),
            "errors": errors.values().sum::<usize>(),
            "throughput": throughput,
            "whole_p50_ms": stats::summary(&totals).map(|s| s.p50),
            "whole_p99_ms": stats::summary(&totals).map(|s| s.p99),
            "served_password_p99_ms": stats::summary(&served).map(|s| s.p99),
            "served_password_max_ms": stats::summary(&served).map(|s| s.max),
            "busy_answers": busy.len(),
            "server_cpu_ms_per_sign_in": self.server_cpu.map(|c| c * 1000.0 / done.len().max(1) as f64),
            "rss_before_kib": self.memory.0,
            "rss_peak_kib": self.memory.1,
            "rss_after_kib": self.memory.2,
            "ceiling": self.ceiling.map(|(_, r)| r),
        });
        println!("RESULT {summary}");
    }
}
