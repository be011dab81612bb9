//! The `tweestap` binary as an administrator uses it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use tweestap_core::ports::AccountStore;

mod support;

use support::Browser;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn tweestap(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tweestap"))
        .args(args)
        .env_remove("TWEESTAP_CONFIG")
        .env("TWEESTAP_DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// `tweestap serve` on a free port, logging at `level` to `<dir>/serve.log`: the child, its
/// base URL and the log's path.
fn serve(
    dir: &Path,
    config: &str,
    level: &str,
    env: &[(&str, &str)],
) -> (std::process::Child, String, std::path::PathBuf) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.join("serve.log");
    let server = Command::new(env!("CARGO_BIN_EXE_tweestap"))
        .args(["--config", config, "serve"])
        .env("TWEESTAP_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", level)
        .envs(env.iter().copied())
        .stderr(std::fs::File::create(&log).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    (server, format!("http://127.0.0.1:{port}"), log)
}

fn config_file(dir: &Path) -> String {
    let path = dir.join("tweestap.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{}\"\norganisation = \"Testschool\"\n[[sms.gateways]]\nkind = \"outbox\"\npath = \"{}\"\n",
            dir.display(),
            dir.join("outbox.jsonl").display()
        ),
    )
    .unwrap();
    path.display().to_string()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn show(dir: &Path, config: &str, user: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&tweestap(
        dir,
        &["--config", config, "user", "show", user, "--json"],
        None,
    )))
    .unwrap()
}

#[test]
fn add_list_show_set_phone_and_reset_mfa() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let c = config.as_str();
    let out = tweestap(
        dir.path(),
        &[
            "user",
            "add",
            "J.Jansen",
            "--display-name",
            "Jan Jansen",
            "--phone",
            "06 12345678",
            "--password-stdin",
            "--config",
            c,
        ],
        Some("een lang wachtwoord\n"),
    );
    assert!(ok(&out).contains("Created user j.jansen"));
    // The config flag works before the subcommand too, and from the environment.
    let list = ok(&tweestap(
        dir.path(),
        &["--config", c, "user", "list"],
        None,
    ));
    assert!(
        list.contains("j.jansen")
            && list.contains("Jan Jansen")
            && list.contains("+31 6 •••• ••78"),
        "{list}"
    );

    let shown = show(dir.path(), c, "J.JANSEN");
    assert_eq!(shown["username"], "j.jansen");
    assert_eq!(shown["password_set"], true);
    assert_eq!(shown["methods"][0]["phone"], "+31612345678");
    assert_eq!(shown["events"][0]["event"], "admin.user_added");

    ok(&tweestap(
        dir.path(),
        &[
            "--config",
            c,
            "user",
            "set-phone",
            "j.jansen",
            "+31 6 8765 4321",
        ],
        None,
    ));
    assert_eq!(
        show(dir.path(), c, "j.jansen")["methods"][0]["phone"],
        "+31687654321"
    );
    let out = ok(&tweestap(
        dir.path(),
        &["--config", c, "user", "reset-mfa", "j.jansen"],
        None,
    ));
    assert!(out.contains("Removed 1 method"), "{out}");
    assert_eq!(
        show(dir.path(), c, "j.jansen")["methods"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Mistakes are explained.
    let out = tweestap(
        dir.path(),
        &[
            "--config",
            c,
            "user",
            "add",
            "j.jansen",
            "--display-name",
            "Dubbel",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = tweestap(
        dir.path(),
        &["--config", c, "user", "set-phone", "nobody", "0612345678"],
        None,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user named"));
    let out = tweestap(
        dir.path(),
        &[
            "--config",
            c,
            "user",
            "set-phone",
            "j.jansen",
            "071 5123456",
        ],
        None,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a mobile number"));
    let out = tweestap(
        dir.path(),
        &[
            "--config",
            c,
            "user",
            "add",
            "kort",
            "--display-name",
            "K",
            "--password-stdin",
        ],
        Some("kort\n"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("shorter than 8"));
}

#[test]
fn import_creates_every_account_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let c = config.as_str();
    let phc = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$XfkpxWgOAF2WfHb/A9yJM1q3lcrvZKQnA1uD2bsN3Ko";
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "username,display name,email,phone,password\n\
             anna,Anna de Vries,anna@school.nl,06 11111111,wachtwoord-anna\n\
             bob,,bob@school.nl,,wachtwoord-bob\n\
             carla,Carla,carla-at-school,,wachtwoord-carla\n\
             dirk,Dirk,,071 5123456,wachtwoord-dirk\n\
             ANNA,Anna again,,,wachtwoord-anna2\n\
             eva,Eva,,,kort\n\
             frank,Frank,,,$2b$12$notanargonhash\n\
             gina,Gina,,\n\
             hans,Hans,,,{phc}\n"
        ),
    )
    .unwrap();
    let out = tweestap(
        dir.path(),
        &["--config", c, "user", "import", bad.to_str().unwrap()],
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "bad.csv:3: display name: is empty",
        "bad.csv:4: email: has no @",
        "bad.csv:5: phone: this is not a mobile number",
        "bad.csv:6: username \"anna\" appears twice in the file",
        "bad.csv:7: password: the password is shorter than 8 characters",
        "bad.csv:8: password: not an Argon2 hash",
        "bad.csv:9: expected 5 columns",
        "7 bad row(s); nothing was imported",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let list = ok(&tweestap(
        dir.path(),
        &["--config", c, "user", "list", "--json"],
        None,
    ));
    assert_eq!(list.trim(), "[]", "nothing may be half-imported");

    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        format!("anna,Anna de Vries,anna@school.nl,06 11111111,wachtwoord-anna\n\"bob\",\"Bob, de Bouwer\",,,wachtwoord-bob\nhans,Hans,,,{phc}\n"),
    )
    .unwrap();
    let out = ok(&tweestap(
        dir.path(),
        &["--config", c, "user", "import", good.to_str().unwrap()],
        None,
    ));
    assert!(out.contains("Imported 3 account(s)"), "{out}");
    assert_eq!(show(dir.path(), c, "bob")["display_name"], "Bob, de Bouwer");
    assert_eq!(
        show(dir.path(), c, "anna")["methods"][0]["phone"],
        "+31611111111"
    );
    assert_eq!(show(dir.path(), c, "hans")["password_set"], true);
    // Every account has its own line in the audit trail, written together.
    for name in ["anna", "bob", "hans"] {
        assert_eq!(
            show(dir.path(), c, name)["events"][0]["event"],
            "admin.users_imported",
            "{name}"
        );
    }

    // Importing the same file again clashes with the existing accounts, and changes nothing.
    let out = tweestap(
        dir.path(),
        &["--config", c, "user", "import", good.to_str().unwrap()],
        None,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("good.csv:1: a user named \"anna\" already exists")
    );
}

#[test]
fn configuration_mistakes_stop_the_program_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "listen = \"everywhere\"\n[[sms.gateways]]\nkind = \"outbox\"\npath = \"o.jsonl\"\n",
    )
    .unwrap();
    let out = tweestap(
        dir.path(),
        &["--config", path.to_str().unwrap(), "migrate"],
        None,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`listen`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Environment variables override the file, and are checked the same way.
    let config = config_file(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_tweestap"))
        .args(["migrate"])
        .env("TWEESTAP_CONFIG", &config)
        .env("TWEESTAP_POLICY__CODE__TTL_SECS", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy.code.ttl_secs"));

    let out = tweestap(
        dir.path(),
        &["--config", "/nonexistent.toml", "migrate"],
        None,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    let out = ok(&tweestap(
        dir.path(),
        &["--config", &config, "migrate"],
        None,
    ));
    assert!(out.contains("up to date"));
    assert!(dir.path().join("tweestap.db").exists());
}

/// Passwords and codes appear in no log line and (for the password) nowhere in the database.
#[test]
fn secrets_stay_out_of_logs_and_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let password = "sentinel-Wachtwoord-7Q";
    ok(&tweestap(
        dir.path(),
        &[
            "--config",
            &config,
            "user",
            "add",
            "jan",
            "--display-name",
            "Jan",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    ));
    let (mut server, base, log) = serve(dir.path(), &config, "trace", &[]);
    let code = runtime().block_on(async {
        let mut b = Browser::at(&base);
        b.wait_until_healthy().await;
        b.sign_in("jan", password)
            .await
            .assert_redirect("/sign-in/phone");
        b.open("/sign-in/phone").await;
        b.post(
            "/sign-in/phone",
            &[("country", "NL"), ("phone", "0612345678")],
        )
        .await
        .assert_redirect("/sign-in/code");
        let outbox = std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap();
        let message: serde_json::Value =
            serde_json::from_str(outbox.lines().last().unwrap()).unwrap();
        let code = support::code_in(message["text"].as_str().unwrap());
        b.enter_code(&code).await.assert_redirect("/?welcome=1");
        code
    });
    server.kill().unwrap();
    server.wait().unwrap();

    let whole_word = |haystack: &[u8], needle: &str| {
        haystack.windows(needle.len()).enumerate().any(|(i, w)| {
            w == needle.as_bytes()
                && (i == 0 || !haystack[i - 1].is_ascii_alphanumeric())
                && haystack
                    .get(i + needle.len())
                    .is_none_or(|b| !b.is_ascii_alphanumeric())
        })
    };
    let logged = std::fs::read(&log).unwrap();
    assert!(
        logged.len() > 1000,
        "trace logging was on: {} bytes",
        logged.len()
    );
    assert!(!whole_word(&logged, password), "the password is in the log");
    assert!(!whole_word(&logged, &code), "the code is in the log");
    for file in ["tweestap.db", "tweestap.db-wal"] {
        let Ok(bytes) = std::fs::read(dir.path().join(file)) else {
            continue;
        };
        assert!(!whole_word(&bytes, password), "the password is in {file}");
        assert!(!whole_word(&bytes, &code), "the code is in {file}");
    }
}

/// A message queued while its gateway is down survives `kill -9` of the server and is sent
/// exactly once by the next start.
#[test]
fn queued_messages_survive_killing_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let outbox = dir.path().join("outbox.jsonl");
    let write_config = |gateway: &str| {
        let path = dir.path().join("tweestap.toml");
        std::fs::write(
            &path,
            format!(
                "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n[policy.sms]\nmax_rounds = 50\n{gateway}",
                dir.path().display()
            ),
        )
        .unwrap();
        path.display().to_string()
    };
    // First life: the only gateway refuses connections, so the message stays queued.
    let config = write_config(&format!(
        "[[sms.gateways]]\nkind = \"kannel\"\nurl = \"http://127.0.0.1:{dead}/cgi-bin/sendsms\"\nusername = \"u\"\npassword = \"p\"\n"
    ));
    ok(&tweestap(
        dir.path(),
        &[
            "--config",
            &config,
            "user",
            "add",
            "jan",
            "--display-name",
            "Jan",
            "--phone",
            "0612345678",
            "--password-stdin",
        ],
        Some("een lang wachtwoord\n"),
    ));
    let serve = |config: &str| {
        Command::new(env!("CARGO_BIN_EXE_tweestap"))
            .args(["--config", config, "serve"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut server = serve(&config);
    runtime().block_on(async {
        let mut b = Browser::at(&format!("http://127.0.0.1:{port}"));
        b.wait_until_healthy().await;
        b.sign_in("jan", "een lang wachtwoord")
            .await
            .assert_redirect("/sign-in/code?problem=gateway-down");
    });
    server.kill().unwrap(); // SIGKILL: no chance to tidy up
    server.wait().unwrap();
    let status = ok(&tweestap(
        dir.path(),
        &["--config", &config, "sms", "status", "--json"],
        None,
    ));
    let list: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(list[0]["state"], "queued", "{status}");
    assert!(!outbox.exists());

    // Second life, with a working gateway: the queued message goes out, once.
    let config = write_config(&format!(
        "[[sms.gateways]]\nkind = \"outbox\"\npath = \"{}\"\n",
        outbox.display()
    ));
    let mut server = serve(&config);
    let started = std::time::Instant::now();
    while tweestap_sms::read_outbox(&outbox).unwrap().is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "the queued message was not sent after the restart"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    server.kill().unwrap();
    server.wait().unwrap();
    let sent = tweestap_sms::read_outbox(&outbox).unwrap();
    assert_eq!(sent.len(), 1, "sent exactly once");
    assert_eq!(sent[0].to, "+31612345678");
    let status = ok(&tweestap(
        dir.path(),
        &["--config", &config, "sms", "status", "--json"],
        None,
    ));
    assert!(status.contains("\"state\": \"sent\""), "{status}");
}

#[test]
fn clients_are_registered_with_a_secret_shown_once_and_stored_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let c = config.as_str();
    let out = ok(&tweestap(
        dir.path(),
        &[
            "--config",
            c,
            "client",
            "add",
            "Moodle",
            "--redirect-uri",
            "https://moodle.school.nl/auth/oidc/",
            "--first-party",
            "--json",
        ],
        None,
    ));
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 43, "256 random bits");
    let public: serde_json::Value = serde_json::from_str(&ok(&tweestap(
        dir.path(),
        &[
            "--config",
            c,
            "client",
            "add",
            "App",
            "--redirect-uri",
            "nl.school.app:/callback",
            "--public",
            "--client-id",
            "school-app",
            "--require-mfa",
            "--id-token-alg",
            "RS256",
            "--json",
        ],
        None,
    )))
    .unwrap();
    assert_eq!(public["client_id"], "school-app");
    assert!(public["client_secret"].is_null());

    let list = ok(&tweestap(
        dir.path(),
        &["--config", c, "client", "list"],
        None,
    ));
    assert!(
        list.contains(&id) && list.contains("school-app") && list.contains("confidential"),
        "{list}"
    );
    let shown: serde_json::Value = serde_json::from_str(&ok(&tweestap(
        dir.path(),
        &["--config", c, "client", "show", &id, "--json"],
        None,
    )))
    .unwrap();
    assert_eq!(
        shown["redirect_uris"][0],
        "https://moodle.school.nl/auth/oidc/"
    );
    assert_eq!(shown["first_party"], true);
    assert_eq!(shown["id_token_alg"], "ES256");
    let app: serde_json::Value = serde_json::from_str(&ok(&tweestap(
        dir.path(),
        &["--config", c, "client", "show", "school-app", "--json"],
        None,
    )))
    .unwrap();
    assert_eq!(app["require_mfa"], true);
    assert_eq!(app["id_token_alg"], "RS256");
    assert!(
        !shown.to_string().contains(&secret),
        "the secret is never shown again"
    );
    let db = std::fs::read(dir.path().join("tweestap.db")).unwrap();
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "only a hash is stored"
    );

    for (args, expected) in [
        (
            vec![
                "client",
                "add",
                "X",
                "--redirect-uri",
                "http://evil.example/cb",
            ],
            "must use https",
        ),
        (
            vec!["client", "add", "X", "--redirect-uri", "https://a.nl/cb#x"],
            "fragment",
        ),
        (
            vec![
                "client",
                "add",
                "X",
                "--redirect-uri",
                "https://a.nl/cb",
                "--id-token-alg",
                "HS256",
            ],
            "unknown signing algorithm",
        ),
        (
            vec![
                "client",
                "add",
                "X",
                "--redirect-uri",
                "https://a.nl/cb",
                "--scope",
                "admin",
            ],
            "unknown scope",
        ),
        (
            vec![
                "client",
                "add",
                "Y",
                "--redirect-uri",
                "https://a.nl/cb",
                "--client-id",
                "school-app",
            ],
            "already exists",
        ),
    ] {
        let mut all = vec!["--config", c];
        all.extend(args);
        let out = tweestap(dir.path(), &all, None);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(expected),
            "{expected}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ok(&tweestap(
        dir.path(),
        &["--config", c, "client", "remove", "school-app"],
        None,
    ));
    let out = tweestap(
        dir.path(),
        &["--config", c, "client", "show", "school-app"],
        None,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no client"));
}

#[test]
fn a_lost_secret_key_stops_the_server_instead_of_sealing_with_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let c = config.as_str();
    // The first run seals signing keys with the new key file.
    ok(&tweestap(
        dir.path(),
        &["--config", c, "keys", "rotate"],
        None,
    ));
    let key = std::fs::read_to_string(dir.path().join("secret.key")).unwrap();
    std::fs::remove_file(dir.path().join("secret.key")).unwrap();
    let out = tweestap(dir.path(), &["--config", c, "keys", "list"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("secret key file") && err.contains("missing"),
        "{err}"
    );
    assert!(
        !dir.path().join("secret.key").exists(),
        "no new key was made"
    );
    // Another key (a wrong backup) is refused too, and names the problem.
    std::fs::write(
        dir.path().join("secret.key"),
        format!("{}\n", "ab".repeat(32)),
    )
    .unwrap();
    let out = tweestap(dir.path(), &["--config", c, "keys", "list"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not the one"), "{err}");
    std::fs::remove_file(dir.path().join("secret.key")).unwrap();
    // The same key from an environment variable (a container secret) works.
    let out = Command::new(env!("CARGO_BIN_EXE_tweestap"))
        .args(["--config", c, "keys", "list"])
        .env_remove("TWEESTAP_CONFIG")
        .env("TWEESTAP_SECRET_KEY_ENV", "SCHOOL_KEY")
        .env("SCHOOL_KEY", key.trim())
        .output()
        .unwrap();
    ok(&out);
}

#[test]
fn the_helpdesk_issues_a_temporary_access_pass() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let c = config.as_str();
    ok(&tweestap(
        dir.path(),
        &[
            "--config",
            c,
            "user",
            "add",
            "jan",
            "--display-name",
            "Jan",
            "--password-stdin",
        ],
        Some("a good password\n"),
    ));
    let out = ok(&tweestap(
        dir.path(),
        &[
            "--config", c, "user", "tap", "jan", "--valid", "2h", "--once",
        ],
        None,
    ));
    assert!(out.contains("Temporary access pass for jan:"), "{out}");
    assert!(out.contains("for one sign-in"), "{out}");
    let bad = tweestap(
        dir.path(),
        &["--config", c, "user", "tap", "jan", "--valid", "5x"],
        None,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("s, m, h or d"));
}

/// Review item 9: labels are refused with control characters now, but one stored by an
/// older version (or text from a provider) reaches the helpdesk's terminal escaped: a line
/// break in it cannot forge a line of `user show`, an escape sequence cannot drive the terminal.
#[test]
fn user_show_escapes_control_characters() {
    use tweestap_core::ports::ApprovalStore;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let c = config.as_str();
    ok(&tweestap(
        dir.path(),
        &["--config", c, "user", "add", "jan", "--display-name", "Jan"],
        None,
    ));
    let forged = "Key\n  - [99] sms +31600000000 (added 2026-01-01, asked first)\u{1b}[2J";
    runtime().block_on(async {
        let store = tweestap_store::SqliteStore::open(&dir.path().join("tweestap.db"))
            .await
            .unwrap();
        let user = store
            .user_by_username(&tweestap_core::Username::parse("jan").unwrap())
            .await
            .unwrap()
            .unwrap();
        let kind = tweestap_core::MethodKind::Passkey {
            label: forged.into(),
            credential_id: "cred".into(),
            credential: "{}".into(),
        };
        store
            .credential_method_add(user.id, &kind, None, None, tweestap_core::Timestamp(1))
            .await
            .unwrap();
        store.close().await;
    });
    let out = ok(&tweestap(
        dir.path(),
        &["--config", c, "user", "show", "jan"],
        None,
    ));
    assert!(!out.contains('\u{1b}'), "{out}");
    assert!(
        !out.lines().any(|l| l.trim_start().starts_with("- [99]")),
        "{out}"
    );
    assert!(out.contains("passkey Key\\u{a}  - [99]"), "{out}");
    let list = ok(&tweestap(
        dir.path(),
        &["--config", c, "user", "list"],
        None,
    ));
    assert_eq!(list.lines().count(), 2, "{list}");
}

/// Review item 5: behind a proxy that is not trusted, tweestap says so loudly (at start, and
/// when the first forwarded request arrives), and a proxied request is never "loopback" for
/// /metrics: with a header it is refused; and when tweestap listens on loopback behind a
/// public name without trusted proxies (a proxy that adds no header looks like this machine),
/// loopback is not trusted at all.
#[test]
fn an_untrusted_proxy_is_pointed_out_and_never_reads_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let public = [("TWEESTAP_PUBLIC_URL", "https://login.school.example")];
    let (mut server, base, log) = serve(dir.path(), &config, "warn", &public);
    runtime().block_on(async {
        Browser::at(&base).wait_until_healthy().await;
        let local = reqwest::get(format!("{base}/metrics")).await.unwrap();
        assert_eq!(local.status(), reqwest::StatusCode::NOT_FOUND);
        let proxied = reqwest::Client::new()
            .get(format!("{base}/metrics"))
            .header("x-forwarded-for", "192.0.2.44")
            .send()
            .await
            .unwrap();
        assert_eq!(proxied.status(), reqwest::StatusCode::NOT_FOUND);
    });
    server.kill().unwrap();
    server.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("a reverse proxy is in front, yet trusted_proxies is empty"),
        "{logged}"
    );
    assert!(
        logged.contains("/metrics does not answer loopback"),
        "{logged}"
    );
    assert!(
        logged.contains(
            "carry forwarding headers (X-Forwarded-For …), but 127.0.0.1 is not in trusted_proxies"
        ),
        "{logged}"
    );
}

#[test]
fn entras_mobile_numbers_are_imported_all_or_nothing_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let tid = "5c3a1f7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b";
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[[entra.tenants]]\nname = \"Testschool\"\ntenant_ids = [\"{tid}\"]\napp_id = \"8d2b6c0e-1f3a-4b5c-9d7e-6f8a9b0c1d2e\"\nclient_id = \"school-eam\"\n"
    ));
    std::fs::write(&config, text).unwrap();
    let c = config.as_str();
    // An account that registered its own number keeps it.
    ok(&tweestap(
        dir.path(),
        &[
            "--config",
            c,
            "user",
            "add",
            "piet@school.nl",
            "--display-name",
            "Piet",
            "--phone",
            "0687654321",
            "--password-stdin",
        ],
        Some("a long enough password 1"),
    ));
    let header = "userPrincipalName,objectId,tenantId,phoneNumber,phoneType\n";
    let good = format!(
        "jan@school.nl,11111111-1111-4111-8111-111111111111,{tid},+31 612345678,mobile\n\
         jan@school.nl,11111111-1111-4111-8111-111111111111,{tid},+31 612345678,mobile\n\
         jan@school.nl,11111111-1111-4111-8111-111111111111,{tid},+31 201234567,office\n\
         piet@school.nl,22222222-2222-4222-8222-222222222222,{tid},+31 612340000,mobile\n"
    );
    let bad = format!(
        "{good}anna@school.nl,33333333-3333-4333-8333-333333333333,{tid},+31 6123,mobile\n\
         kees@school.nl,44444444-4444-4444-8444-444444444444,0f0f0f0f-1111-4222-8333-444455556666,+31 612345679,mobile\n"
    );
    let file = dir.path().join("phones.csv");
    std::fs::write(&file, format!("{header}{bad}")).unwrap();
    let f = file.to_str().unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec!["--config", c, "entra", "import-phones"];
        args.extend_from_slice(extra);
        args.push(f);
        tweestap(dir.path(), &args, None)
    };
    let out = import(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("phones.csv:6: number"), "{err}");
    assert!(err.contains("phones.csv:7: tenant"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let out = tweestap(
        dir.path(),
        &["--config", c, "user", "show", "jan@school.nl", "--json"],
        None,
    );
    assert!(!out.status.success(), "nothing half-written");

    std::fs::write(&file, format!("{header}{good}")).unwrap();
    let stdout = ok(&import(&[]));
    assert!(stdout.contains("phones.csv:3: repeats line 2"), "{stdout}");
    assert!(
        stdout.contains("phones.csv:4: jan@school.nl: office numbers are for calls only"),
        "{stdout}"
    );
    // An existing account is linked only when asked for (the file could name someone else).
    assert!(
        stdout.contains("phones.csv:5: piet@school.nl is an existing account not linked"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 new account(s), 0 number(s) added, 0 unchanged, 0 kept their own methods, 1 not linked"),
        "{stdout}"
    );
    let stdout = ok(&import(&["--link-existing"]));
    assert!(
        stdout.contains("phones.csv:5: piet@school.nl has sign-in methods of its own"),
        "{stdout}"
    );
    let jan = show(dir.path(), c, "jan@school.nl");
    assert!(jan.to_string().contains("+31612345678"), "{jan}");
    let piet = show(dir.path(), c, "piet@school.nl");
    assert!(
        piet.to_string().contains("+31687654321") && !piet.to_string().contains("+31612340000"),
        "{piet}"
    );
    // A re-run changes nothing.
    let stdout = ok(&import(&["--link-existing"]));
    assert!(
        stdout.contains("0 new account(s), 0 number(s) added, 1 unchanged, 1 kept their own methods, 0 not linked"),
        "{stdout}"
    );
}
