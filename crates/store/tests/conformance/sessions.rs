//! Sessions.

use tweestap_core::ports::{SessionRecord, SessionStore};
use tweestap_core::signin::SignInState;
use tweestap_core::{Timestamp, UserId};

pub async fn sessions_round_trip_and_expire(s: &impl SessionStore) {
    let record = SessionRecord {
        id_hash: "abc".into(),
        csrf_token: "tok".into(),
        state: SignInState::SignedIn {
            user_id: UserId(4),
            auth_time: Timestamp(5),
            amr: vec!["pwd".into(), "sms".into()],
        },
        return_to: Some("/x".into()),
        created_at: Timestamp(1),
        last_seen_at: Timestamp(2),
        strict: true,
        external: Some(tweestap_core::eam::Pending {
            tenant_id: "t".into(),
            object_id: "o".into(),
            client_id: "c".into(),
            reply: tweestap_core::eam::request::ReplyTo {
                redirect_uri:
                    "https://login.microsoftonline.com/common/federation/externalauthprovider"
                        .into(),
                state: None,
            },
            nonce: "n".into(),
            sub: "s".into(),
            acr_values: vec!["possessionorinherence".into()],
            amr_values: vec!["sms".into()],
            deadline: Timestamp(300),
            user_id: UserId(4),
        }),
    };
    s.session_insert(&record).await.unwrap();
    let back = s.session_get("abc").await.unwrap().unwrap();
    assert_eq!(back.state, record.state);
    assert_eq!(back.external, record.external);
    assert_eq!(back.return_to.as_deref(), Some("/x"));
    assert!(back.strict);
    let seen = SessionRecord {
        last_seen_at: Timestamp(3),
        ..record.clone()
    };
    assert!(s.session_update(&seen).await.unwrap());
    assert_eq!(
        s.session_get("abc").await.unwrap().unwrap().last_seen_at,
        Timestamp(3)
    );
    assert!(s.session_delete("abc").await.unwrap());
    assert!(!s.session_delete("abc").await.unwrap(), "ended already");
    assert!(s.session_get("abc").await.unwrap().is_none());
    // A request that read it before it ended cannot bring it back.
    assert!(!s.session_update(&seen).await.unwrap());
    assert!(s.session_get("abc").await.unwrap().is_none());
    assert!(
        !s.session_rekey("abc", &seen).await.unwrap(),
        "an ended session does not come back under a new id either"
    );
    s.session_insert(&record).await.unwrap();
    // A new id after a step: the old one stops working, everything else moves along.
    let rekeyed = SessionRecord {
        id_hash: "def".into(),
        csrf_token: "new-csrf".into(),
        created_at: Timestamp(5),
        last_seen_at: Timestamp(5),
        ..record.clone()
    };
    assert!(s.session_rekey("abc", &rekeyed).await.unwrap());
    assert!(s.session_get("abc").await.unwrap().is_none());
    let moved = s.session_get("def").await.unwrap().unwrap();
    assert_eq!(moved.csrf_token, "new-csrf");
    assert_eq!(moved.created_at, Timestamp(5));
    assert_eq!(moved.state, record.state);
    assert_eq!(moved.external, record.external);
    assert_eq!(
        s.session_purge(Timestamp(6), Timestamp(0)).await.unwrap(),
        1
    );
    s.session_insert(&record).await.unwrap();
    assert_eq!(
        s.session_purge(Timestamp(3), Timestamp(0)).await.unwrap(),
        1
    );
    assert!(s.session_get("abc").await.unwrap().is_none());
}

fn signed_in(id_hash: &str, user: i64) -> SessionRecord {
    SessionRecord {
        id_hash: id_hash.into(),
        csrf_token: format!("csrf-{id_hash}"),
        state: SignInState::SignedIn {
            user_id: UserId(user),
            auth_time: Timestamp(1),
            amr: vec!["pwd".into(), "sms".into()],
        },
        return_to: None,
        created_at: Timestamp(1),
        last_seen_at: Timestamp(1),
        strict: false,
        external: None,
    }
}

pub async fn a_users_sessions_end_together_except_the_one_kept(s: &impl SessionStore) {
    for (id, user) in [("a1", 1), ("a2", 1), ("a3", 1), ("b1", 2)] {
        s.session_insert(&signed_in(id, user)).await.unwrap();
    }
    assert_eq!(
        s.sessions_delete_for_user(UserId(1), Some("a2"))
            .await
            .unwrap(),
        2
    );
    assert!(s.session_get("a1").await.unwrap().is_none());
    assert!(s.session_get("a2").await.unwrap().is_some(), "the one kept");
    assert!(
        s.session_get("b1").await.unwrap().is_some(),
        "another user's"
    );
    assert_eq!(
        s.sessions_delete_for_user(UserId(1), None).await.unwrap(),
        1
    );
    assert!(s.session_get("a2").await.unwrap().is_none());
}
