//! The cost of believing an Entra `id_token_hint` with Entra's keys already cached: RS256
//! signature (RSA-2048, as Microsoft's keys) and the claims checks.
//! `cargo bench -p tweestap-oidc --bench entra_hint`; results in docs/benchmarks.md.

use std::hint::black_box;
use std::io::{Read, Write};
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tweestap_core::eam::config::{Cloud, Tenant, UnknownUsers, hint_issuer};
use tweestap_core::eam::hint::check_claims;
use tweestap_core::ports::{Clock, HintSignatures};
use tweestap_core::{SigningAlg, Timestamp};
use tweestap_oidc::{EntraKeys, SigningKey};

const TID: &str = "5c3a1f7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b";

struct Now;
impl Clock for Now {
    fn now(&self) -> Timestamp {
        Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        )
    }
}

/// Serves `body` to every request on a loopback port (Entra's JWKS URL), in a thread.
fn serve(body: String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/{TID}/discovery/v2.0/keys")
}

fn hint(c: &mut Criterion) {
    // Microsoft signs with RSA-2048; tweestap's own keys are 3072 bits. The bench uses a
    // 3072-bit key, the slower case.
    let key = SigningKey::generate("k1".into(), SigningAlg::Rs256).unwrap();
    let url = serve(serde_json::json!({ "keys": [key.public_jwk()] }).to_string());
    let authority = "http://127.0.0.1";
    let tenant = Tenant {
        name: "bench".into(),
        tenant_ids: vec![TID.into()],
        app_id: "app".into(),
        client_id: "c".into(),
        clouds: vec![Cloud::Global],
        unknown_users: UnknownUsers::Refuse,
        link_by_username: false,
    };
    let now = Now.now().0;
    let token = key
        .sign(&serde_json::json!({
            "iss": hint_issuer(authority, TID), "aud": "app", "tid": TID, "oid": "o", "sub": "s",
            "iat": now, "exp": now - 1, "preferred_username": "jan@school.nl",
        }))
        .unwrap();
    let keys = EntraKeys::new(Arc::new(Now));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Warm the cache: the one fetch.
    rt.block_on(keys.verify(&token, &url)).unwrap();
    c.bench_function("entra hint: signature + claims, keys cached", |b| {
        b.iter(|| {
            let claims = rt.block_on(keys.verify(black_box(&token), &url)).unwrap();
            check_claims(&claims, &tenant, authority, TID, Timestamp(now)).unwrap()
        })
    });
}

criterion_group!(benches, hint);
criterion_main!(benches);
