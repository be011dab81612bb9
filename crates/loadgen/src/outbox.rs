//! Codes from the outbox: tweestap's development SMS sink writes each text as a JSON line; this
//! follows the file and hands each code to the sign-in waiting for that number.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncSeekExt, BufReader};
use tokio::sync::oneshot;

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<(String, Instant)>>>>;

#[derive(Clone)]
pub struct Outbox {
    waiters: Waiters,
}

#[derive(serde::Deserialize)]
struct Line {
    to: String,
    text: String,
}

impl Outbox {
    /// Follows `path` from its current end.
    pub async fn follow(path: PathBuf) -> Result<Outbox, String> {
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        file.seek(std::io::SeekFrom::End(0))
            .await
            .map_err(|e| e.to_string())?;
        let waiters: Waiters = Arc::default();
        let outbox = Outbox {
            waiters: waiters.clone(),
        };
        tokio::spawn(async move {
            let mut reader = BufReader::new(file);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line).await {
                    // At the end: look again shortly (the sink appends whole lines).
                    Ok(0) => tokio::time::sleep(Duration::from_millis(2)).await,
                    Ok(_) if !line.ends_with('\n') => {
                        // A line caught half-written: read the rest of it next time round.
                        let mut rest = String::new();
                        while !rest.ends_with('\n') {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            let _ = reader.read_line(&mut rest).await;
                        }
                        line.push_str(&rest);
                        deliver(&waiters, &line);
                    }
                    Ok(_) => deliver(&waiters, &line),
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        });
        Ok(outbox)
    }

    /// Registers for the next code to `phone`, before the request that sends it.
    pub fn expect(&self, phone: &str) -> oneshot::Receiver<(String, Instant)> {
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap().insert(phone.to_string(), tx);
        rx
    }
}

fn deliver(waiters: &Waiters, line: &str) {
    let Ok(message) = serde_json::from_str::<Line>(line) else {
        return;
    };
    // The code closes the text, after the WebOTP "#".
    let Some(code) = message.text.rsplit('#').next().map(str::trim) else {
        return;
    };
    if let Some(waiter) = waiters.lock().unwrap().remove(&message.to) {
        let _ = waiter.send((code.to_string(), Instant::now()));
    }
}
