//! The audit trail.

use tweestap_core::audit::{Actor, AuditEvent, AuditKind};
use tweestap_core::ports::AuditLog;
use tweestap_core::{Timestamp, UserId};

fn line(at: i64, user: Option<i64>, detail: &str) -> AuditEvent {
    AuditEvent {
        at: Timestamp(at),
        kind: AuditKind::CodeChecked,
        outcome: "ok",
        user_id: user.map(UserId),
        username: user.map(|u| format!("user{u}")),
        actor: Actor::Admin("beheer".into()),
        ip: Some("192.0.2.7".into()),
        detail: Some(detail.into()),
        user_agent: None,
    }
}

pub async fn audit_lines_come_back_newest_first_per_user(s: &impl AuditLog) {
    s.audit(&line(1, Some(1), "first")).await.unwrap();
    s.audit(&line(2, Some(2), "other")).await.unwrap();
    s.audit(&line(3, None, "nobody")).await.unwrap();
    s.audit(&line(3, Some(1), "second")).await.unwrap();
    let mine = s.audit_list(Some(UserId(1)), 10).await.unwrap();
    let details: Vec<_> = mine.iter().map(|r| r.detail.as_deref().unwrap()).collect();
    assert_eq!(details, ["second", "first"]);
    let newest = &mine[0];
    assert_eq!(newest.at, Timestamp(3));
    assert_eq!(newest.kind, AuditKind::CodeChecked.as_str());
    assert_eq!(newest.outcome, "ok");
    assert_eq!(newest.username.as_deref(), Some("user1"));
    assert_eq!(newest.actor, Actor::Admin("beheer".into()).as_string());
    assert_eq!(newest.ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(newest.user_agent, None);
    let all = s.audit_list(None, 3).await.unwrap();
    let details: Vec<_> = all.iter().map(|r| r.detail.as_deref().unwrap()).collect();
    assert_eq!(
        details,
        ["second", "nobody", "other"],
        "newest first, limited"
    );
}

pub async fn a_large_batch_of_audit_lines_arrives_whole_and_in_order(s: &impl AuditLog) {
    // More lines than one statement takes: an import's line per account.
    let lines: Vec<_> = (0..1_234)
        .map(|i| line(i, Some(9), &format!("line {i}")))
        .collect();
    s.audit_all(&lines).await.unwrap();
    let back = s.audit_list(Some(UserId(9)), 2_000).await.unwrap();
    assert_eq!(back.len(), 1_234);
    assert_eq!(back[0].detail.as_deref(), Some("line 1233"));
    assert_eq!(back[1_233].detail.as_deref(), Some("line 0"));
    s.audit_all(&[]).await.unwrap();
    assert_eq!(
        s.audit_list(Some(UserId(9)), 2_000).await.unwrap().len(),
        1_234
    );
}
