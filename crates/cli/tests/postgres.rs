//! tweestap on PostgreSQL: the whole sign-in on one node, and on two nodes sharing the
//! database with every request going to the other node (no sticky sessions). Each test gets
//! a throw-away database on the server `TWEESTAP_TEST_POSTGRES` names (by default the local
//! one); without one the tests are skipped with the reason, except under `CI=true`.

mod support;

use sqlx::Connection;
use support::{PASSWORD, spawn_app_with};
use tweestap::config::Redacted;

struct ThrowAway {
    server: String,
    name: String,
    url: String,
}

async fn database(test: &str) -> Option<ThrowAway> {
    let server = std::env::var("TWEESTAP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut admin = match sqlx::PgConnection::connect(&server).await {
        Ok(conn) => conn,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!(
                "skipped: cannot reach PostgreSQL at {server} ({e}); set TWEESTAP_TEST_POSTGRES"
            );
            return None;
        }
        Err(e) => panic!("CI needs PostgreSQL at {server}: {e}"),
    };
    let name = format!("tweestap_cli_{}_{test}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a throw-away database");
    let base = server
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&server);
    Some(ThrowAway {
        url: format!("{base}/{name}"),
        server,
        name,
    })
}

impl ThrowAway {
    async fn drop_database(self) {
        let mut admin = sqlx::PgConnection::connect(&self.server).await.unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_first_sign_in_registers_a_phone_and_the_next_asks_for_a_code_on_postgres() {
    let Some(db) = database("one_node").await else {
        return;
    };
    let app = spawn_app_with(|c| c.database_url = Some(Redacted(db.url.clone()))).await;
    app.add_user("student", None).await;
    let mut b = app.browser();
    b.sign_in("student", PASSWORD)
        .await
        .assert_redirect("/sign-in/phone");
    b.open("/sign-in/phone").await;
    b.post(
        "/sign-in/phone",
        &[("country", "NL"), ("phone", "06 12345678")],
    )
    .await
    .assert_redirect("/sign-in/code");
    b.open("/sign-in/code").await;
    let code = app.last_code();
    b.post("/sign-in/code", &[("code", &code)])
        .await
        .assert_redirect("/?welcome=1");
    assert_eq!(app.methods_of("student").await, 1);
    b.open("/").await;
    b.post("/sign-out", &[]).await;
    app.clock.advance(120);
    b.sign_in("student", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    app.wait_for_sms(3).await;
    b.open("/sign-in/code").await;
    let code = app.last_code();
    b.post("/sign-in/code", &[("code", &code)])
        .await
        .assert_redirect("/");
    drop(app);
    db.drop_database().await;
}

#[tokio::test]
async fn two_nodes_on_one_database_serve_a_sign_in_whose_requests_alternate() {
    let Some(db) = database("two_nodes").await else {
        return;
    };
    let first = spawn_app_with(|c| c.database_url = Some(Redacted(db.url.clone()))).await;
    // The second node shares the database, the secret key and the outbox file: an
    // installation's nodes have the same key, and either node's worker may send a code.
    let key = first.config.secret_key_path();
    let outbox = first.outbox.clone();
    let second = spawn_app_with(|c| {
        c.database_url = Some(Redacted(db.url.clone()));
        c.secret_key_file = Some(key.clone());
        c.sms.gateways = vec![tweestap::config::GatewayConfig::Outbox {
            path: outbox.clone(),
        }];
    })
    .await;
    first.add_user("student", Some("+31612345678")).await;
    let mut b = first.browser();
    b.sign_in("student", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    b.switch_to(&second.base);
    b.open("/sign-in/code").await;
    let code = first
        .wait_for_sms(1)
        .await
        .last()
        .map(|m| support::code_in(&m.text))
        .unwrap();
    b.switch_to(&first.base);
    b.open("/sign-in/code").await;
    b.switch_to(&second.base);
    b.post("/sign-in/code", &[("code", &code)])
        .await
        .assert_redirect("/");
    b.switch_to(&first.base);
    b.open("/").await.assert_contains("student Tester");
    // Signed out on one node: the other does not know the session either.
    b.post("/sign-out", &[]).await;
    b.switch_to(&second.base);
    b.get("/").await.assert_redirect("/sign-in");
    drop((first, second));
    db.drop_database().await;
}
