//! CPU cost of the core's hot operations on this machine: `cargo bench -p tweestap-core`.
//! Results are recorded in docs/benchmarks.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tweestap_core::policy::PasswordPolicy;
use tweestap_core::{CodeKey, OtpCode, PhoneNumber, password};

fn argon2(c: &mut Criterion) {
    let policy = PasswordPolicy::default();
    let hash = password::hash("correct horse battery", &[7; 16], &policy).unwrap();
    let mut group = c.benchmark_group("argon2id m=19456 t=2 p=1");
    group.sample_size(20);
    group.bench_function("verify", |b| {
        b.iter(|| {
            password::verify(
                black_box("correct horse battery"),
                black_box(&hash),
                &policy,
            )
        })
    });
    let mut workspace = password::Workspace::new(&policy);
    group.bench_function("verify in a reused, wiped workspace", |b| {
        b.iter(|| {
            password::verify_in(
                black_box("correct horse battery"),
                black_box(&hash),
                &policy,
                &mut workspace,
            )
        })
    });
    group.bench_function("hash", |b| {
        b.iter(|| password::hash(black_box("correct horse battery"), &[9; 16], &policy))
    });
    group.finish();
}

fn codes_and_numbers(c: &mut Criterion) {
    let key = CodeKey::new(vec![1; 32]);
    let code = OtpCode::parse("123456").unwrap();
    let stored = key.hash("flow", &code);
    c.bench_function("code hash + constant-time compare", |b| {
        b.iter(|| {
            key.hash(black_box("flow"), black_box(&code))
                .matches(&stored)
        })
    });
    let allowed = vec!["NL".to_string()];
    let _ = PhoneNumber::parse("0612345678", "NL", &allowed);
    c.bench_function("phone parse + validate + E.164", |b| {
        b.iter(|| PhoneNumber::parse(black_box("06 12345678"), "NL", &allowed))
    });
}

criterion_group!(benches, argon2, codes_and_numbers);
criterion_main!(benches);
