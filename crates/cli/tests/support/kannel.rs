//! Real Kannel for tests: bearerbox, smsbox and Kannel's own fake SMS centre (fakesmsc, from
//! Debian's kannel-extras), all on 127.0.0.1 with free ports, in a temporary directory.
//! Stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

pub const USER: &str = "tweestap";
pub const PASSWORD: &str = "kannel-test-secret";
const FAKESMSC: &str = "/usr/lib/kannel/test/fakesmsc";

pub struct Kannel {
    pub sendsms_url: String,
    pub fakesmsc_log: PathBuf,
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

fn wait_port(port: u16, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} is not listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Kannel {
    /// Starts Kannel, or says why it cannot. Outside CI a missing Kannel skips the test with
    /// a printed reason; under CI=true it fails it.
    pub fn start() -> Option<Kannel> {
        let missing: Vec<&str> = ["/usr/sbin/bearerbox", "/usr/sbin/smsbox", FAKESMSC]
            .into_iter()
            .filter(|p| !std::path::Path::new(p).exists())
            .collect();
        if !missing.is_empty() {
            let reason = format!(
                "Kannel is not installed ({} missing; apt-get install kannel kannel-extras)",
                missing.join(", ")
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{reason}");
            }
            eprintln!("SKIPPED: {reason}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let (admin, smsbox, smsc, sendsms) = (free_port(), free_port(), free_port(), free_port());
        let run = dir.path();
        let conf = run.join("kannel.conf");
        std::fs::write(
            &conf,
            format!(
                r#"group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = adminpw
status-password = adminpw
admin-allow-ip = "127.0.0.1"
smsbox-port = {smsbox}
smsbox-interface = 127.0.0.1
box-deny-ip = "*.*.*.*"
box-allow-ip = "127.0.0.1"
log-file = "{log}/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
our-host = 127.0.0.1
port = {smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{log}/smsbox.log"
log-level = 1

group = sendsms-user
username = {USER}
password = {PASSWORD}
user-allow-ip = "127.0.0.1"
max-messages = 3
concatenation = true

group = sms-service
keyword = default
text = "No service"
catch-all = true
omit-empty = true
"#,
                log = run.display()
            ),
        )
        .unwrap();
        let quiet = |name: &str| std::fs::File::create(run.join(name)).unwrap();
        let mut children = Vec::new();
        children.push(
            Command::new("/usr/sbin/bearerbox")
                .args(["-v", "1"])
                .arg(&conf)
                .stdout(quiet("bearerbox.out"))
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_port(admin, "bearerbox");
        wait_port(smsc, "bearerbox's fake SMSC port");
        let fakesmsc_log = run.join("fakesmsc.log");
        // -m 0: send no messages of its own, just print what the "operator" receives.
        children.push(
            Command::new(FAKESMSC)
                .args([
                    "-v",
                    "0",
                    "-H",
                    "127.0.0.1",
                    "-r",
                    &smsc.to_string(),
                    "-i",
                    "0",
                    "-m",
                    "0",
                    "0 0 text unused",
                ])
                .stdout(std::fs::File::create(&fakesmsc_log).unwrap())
                .stderr(
                    std::fs::File::options()
                        .append(true)
                        .open(&fakesmsc_log)
                        .unwrap(),
                )
                .spawn()
                .unwrap(),
        );
        children.push(
            Command::new("/usr/sbin/smsbox")
                .args(["-v", "1"])
                .arg(&conf)
                .stdout(quiet("smsbox.out"))
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_port(sendsms, "smsbox");
        let kannel = Kannel {
            sendsms_url: format!("http://127.0.0.1:{sendsms}/cgi-bin/sendsms"),
            fakesmsc_log,
            children,
            _dir: dir,
        };
        // Ready when the fake SMS centre is online at bearerbox.
        let start = Instant::now();
        loop {
            let text = http_get(admin, "/status.txt?password=adminpw");
            if text.contains("(online") && text.contains("smsbox:") {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "Kannel did not come online:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(kannel)
    }

    /// Everything the fake SMS centre has received so far.
    pub fn received(&self) -> String {
        std::fs::read_to_string(&self.fakesmsc_log).unwrap_or_default()
    }
}

impl Drop for Kannel {
    fn drop(&mut self) {
        // smsbox before bearerbox, as Kannel likes it.
        for child in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A plain HTTP GET on loopback (Kannel's status page), without extra tools.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body
}
