//! What the cores can hash: Argon2id verifications per second with every core busy and nothing
//! else, the ceiling a saturated sign-in is measured against.

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

/// tweestap's default parameters (OWASP: m=19456 KiB, t=2, p=1).
pub fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19_456, 2, 1, Some(32)).expect("valid parameters"),
    )
}

/// Hashes on `threads` threads for `time`, each into its own reused memory; hashes per second.
pub fn measure(threads: usize, time: Duration) -> f64 {
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let argon2 = argon2();
                let mut memory = vec![Block::default(); argon2.params().block_count()];
                let mut out = [0u8; 32];
                let mut done = 0u64;
                while started.elapsed() < time {
                    argon2
                        .hash_password_into_with_memory(
                            b"correct horse battery staple",
                            b"sixteen byte salt",
                            &mut out,
                            &mut memory,
                        )
                        .expect("hash");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let done: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    done as f64 / started.elapsed().as_secs_f64()
}
