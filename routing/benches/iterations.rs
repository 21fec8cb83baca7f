//! Search speed: 1,000 ALNS iterations (destroy + regret repair + acceptance) on a Li & Lim
//! and a Cordeau instance; divide the reported time by 1,000 for the per-iteration cost.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use routing::instances::read;
use routing::solver::{solve, Options};

fn bench(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench");
    let mut group = c.benchmark_group("alns_1000_iterations");
    group.sample_size(10);
    for (set, name) in [
        ("lilim100", "lr102"),
        ("cordeau-darp", "a5-50"),
        ("lilim200", "lc1_2_1"),
    ] {
        let Ok(inst) = read(&dir.join(set).join(format!("{name}.txt"))) else {
            continue;
        };
        let options = Options {
            seed: 1,
            time_limit: Duration::from_secs(60),
            max_iterations: Some(1000),
            stall_iterations: None,
            threads: 1,
        };
        group.bench_function(name, |b| {
            b.iter(|| solve(&inst.problem, &inst.matrix, &options).expect("valid instance"));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
