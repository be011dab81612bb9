use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tweestap_core::Secret;
use tweestap_core::password::{self, PasswordError, Workspace};
use tweestap_core::policy::PasswordPolicy;
use tweestap_core::ports::{Entropy, HashTicket, PasswordCheck, PasswordHashing};

/// Argon2id on a few threads of its own (one per core unless the policy says otherwise), with
/// working memory reused for every hash and wiped after each ([`password::Workspace`]): a
/// login storm waits in line for them instead of starting hundreds of hashes at once, and no
/// hash allocates and faults in 19 MiB of fresh memory. When the threads fall idle, the
/// memory goes back to the system.
pub struct Argon2Pool {
    shared: Arc<Shared>,
    jobs: std::sync::mpsc::Sender<Job>,
    entropy: Arc<dyn Entropy>,
    /// A real hash of a random password, verified when the user does not exist, so unknown
    /// users cost the same time as known ones.
    dummy: String,
    /// The time a verification against the dummy takes here: every check lasts at least this
    /// long, so hashes with other (older, cheaper) parameters or unreadable ones do not answer
    /// faster than an unknown user does.
    floor: std::time::Duration,
    /// Checks handed to the threads and not finished yet (running or in line).
    in_flight: Arc<AtomicUsize>,
    threads: usize,
}

/// One check in flight; dropping it frees the place.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

enum Work {
    Verify { phc: String, secret: Secret },
    Hash { secret: Secret, salt: [u8; 16] },
}

enum Done {
    Verified(bool, bool),
    Hashed(Result<String, PasswordError>),
}

struct Job {
    work: Work,
    reply: tokio::sync::oneshot::Sender<Done>,
}

/// A hashing thread keeps its memory this long after its last hash.
const IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// What the hashing threads share: the line of jobs, the workspaces not in use, and the pace.
struct Shared {
    policy: Arc<PasswordPolicy>,
    jobs: Mutex<std::sync::mpsc::Receiver<Job>>,
    /// Workspaces between hashes. Shared, not one per thread: the thread that waits on the
    /// line holds its lock, so only it can notice the end of a rush, and it frees them all.
    spare: Mutex<Vec<Workspace>>,
    /// How long one hash takes on its thread lately (µs, smoothed), measured on the threads: a
    /// busy machine (the rest of each sign-in shares the cores) hashes slower than the quiet
    /// start-up measurement, and the line must be judged by what the threads do now.
    pace_us: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn worker(shared: Arc<Shared>) {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        let next = lock(&shared.jobs).recv_timeout(IDLE);
        let job = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                // The end of a rush: the workspaces go, and so does what the requests around
                // them left in the allocator's heaps.
                let freed = std::mem::take(&mut *lock(&shared.spare));
                if !freed.is_empty() {
                    drop(freed);
                    tweestap_malloc::give_back();
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let policy = &shared.policy;
        let spare = lock(&shared.spare).pop();
        let mut ws = spare.unwrap_or_else(|| Workspace::new(policy));
        let started = std::time::Instant::now();
        let done = match job.work {
            Work::Verify { phc, secret } => {
                let (ok, rehash) = password::verify_in(secret.expose(), &phc, policy, &mut ws);
                Done::Verified(ok, rehash)
            }
            Work::Hash { secret, salt } => {
                Done::Hashed(password::hash_in(secret.expose(), &salt, policy, &mut ws))
            }
        };
        lock(&shared.spare).push(ws);
        let took = started.elapsed().as_micros() as u64;
        // Smoothed over about eight hashes; a lost race between threads only loses a sample.
        let old = shared.pace_us.load(Ordering::Relaxed);
        shared
            .pace_us
            .store(old - old / 8 + took / 8, Ordering::Relaxed);
        let _ = job.reply.send(done);
    }
}

impl Argon2Pool {
    pub fn new(
        policy: PasswordPolicy,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Argon2Pool, PasswordError> {
        let threads = match policy.max_concurrent_hashes {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        let mut secret = [0u8; 24];
        let mut salt = [0u8; 16];
        entropy.fill(&mut secret);
        entropy.fill(&mut salt);
        let mut workspace = Workspace::new(&policy);
        let dummy = password::hash_in(&hex::encode(secret), &salt, &policy, &mut workspace)?;
        // The fastest of three, so a cold first run (fresh memory pages) does not set the bar.
        let floor = (0..3)
            .map(|_| {
                let started = std::time::Instant::now();
                let _ = password::verify_in("not the password", &dummy, &policy, &mut workspace);
                started.elapsed()
            })
            .min()
            .unwrap_or_default();
        drop(workspace);
        tracing::debug!(
            floor_ms = floor.as_secs_f64() * 1000.0,
            "password check time floor"
        );
        let (jobs, queue) = std::sync::mpsc::channel();
        let shared = Arc::new(Shared {
            policy: Arc::new(policy),
            jobs: Mutex::new(queue),
            spare: Mutex::new(Vec::new()),
            pace_us: AtomicU64::new(floor.as_micros().max(1) as u64),
        });
        for i in 0..threads {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(shared))
                .map_err(|e| PasswordError::BadParams(format!("no hashing thread: {e}")))?;
        }
        Ok(Argon2Pool {
            shared,
            jobs,
            entropy,
            dummy,
            floor,
            in_flight: Arc::new(AtomicUsize::new(0)),
            threads,
        })
    }

    /// How many checks may be in flight: the ones running, and as many in line as the threads
    /// finish within the wait allowed at their present pace.
    fn max_in_flight(&self) -> usize {
        // Never faster than a hash with the policy's parameters on a quiet machine: checks
        // against unreadable or cheap imported hashes end at once and must not widen the line.
        let floor = self.floor.as_micros().max(1) as u64;
        let pace = self.shared.pace_us.load(Ordering::Relaxed).max(floor);
        let per_thread = (self.shared.policy.max_wait_ms.saturating_mul(1000) / pace) as usize;
        self.threads + self.threads * per_thread
    }

    /// A place in line, or `None` when the line is as long as can be served in time. Setting a
    /// password (`hash`) always waits: it is an administrator's or the user's own change.
    fn slot(&self) -> Option<Slot> {
        let taken = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(self.in_flight.clone());
        (taken < self.max_in_flight()).then_some(slot)
    }

    /// Hands `work` to a hashing thread and waits for it (`None`: the pool has stopped).
    async fn run(&self, work: Work) -> Option<Done> {
        let (reply, done) = tokio::sync::oneshot::channel();
        self.jobs.send(Job { work, reply }).ok()?;
        done.await.ok()
    }
}

#[async_trait]
impl PasswordHashing for Argon2Pool {
    fn admit(&self) -> Option<HashTicket> {
        self.slot().map(|slot| HashTicket(Box::new(slot)))
    }

    async fn verify(
        &self,
        _ticket: HashTicket,
        phc: Option<String>,
        secret: Secret,
    ) -> PasswordCheck {
        let started = tokio::time::Instant::now();
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.clone());
        let result = self.run(Work::Verify { phc, secret }).await;
        tokio::time::sleep_until(started + self.floor).await;
        match result {
            Some(Done::Verified(ok, needs_rehash)) => PasswordCheck {
                ok: ok && known,
                needs_rehash,
            },
            _ => PasswordCheck {
                ok: false,
                needs_rehash: false,
            },
        }
    }

    async fn hash(&self, secret: Secret) -> Result<String, PasswordError> {
        password::check_new(secret.expose(), &self.shared.policy)?;
        let mut salt = [0u8; 16];
        self.entropy.fill(&mut salt);
        match self.run(Work::Hash { secret, salt }).await {
            Some(Done::Hashed(result)) => result,
            _ => Err(PasswordError::BadParams("shutting down".into())),
        }
    }
}
