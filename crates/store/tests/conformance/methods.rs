//! Second-factor methods: the account's list, apps, and the rules about the account's methods
//! as a whole ("the first", "never the last"), also when requests race.

use tweestap_core::ports::{AccountStore, CodeStore, Consumed, MethodStore};
use tweestap_core::{MethodKind, PhoneNumber, Timestamp, UserId};

use crate::accounts::new_user;
use crate::codes::send;

pub async fn replace_phone_leaves_exactly_one_sms_method<S>(s: &S)
where
    S: AccountStore + CodeStore + MethodStore,
{
    let ids = s
        .create_users(&[new_user("jan", Some("+31612345678"))], Timestamp(1))
        .await
        .unwrap();
    let other = PhoneNumber::from_stored("+31687654321").unwrap();
    s.add_method(
        ids[0],
        &MethodKind::Sms {
            phone: other.clone(),
        },
        Timestamp(2),
    )
    .await
    .unwrap();
    s.replace_phone(ids[0], &other, Timestamp(3)).await.unwrap();
    let methods = s.methods(ids[0]).await.unwrap();
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0].phone(), Some(&other));
    assert_eq!(s.remove_methods(ids[0]).await.unwrap(), 1);
    assert!(s.methods(ids[0]).await.unwrap().is_empty());
}

pub async fn registration_adds_the_first_phone_only<S>(s: &S)
where
    S: AccountStore + CodeStore + MethodStore,
{
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    let phone = PhoneNumber::from_stored("+31612345678").unwrap();
    let a = send(s, u, "A", 10, 1_000).await.unwrap();
    let b = send(s, u, "B", 10, 1_000).await.unwrap();
    assert!(matches!(
        s.challenge_consume(a, Timestamp(11), Some((u, &phone)))
            .await
            .unwrap(),
        Consumed::Done {
            new_method: Some(_)
        }
    ));
    assert_eq!(
        s.challenge_consume(b, Timestamp(12), Some((u, &phone)))
            .await
            .unwrap(),
        Consumed::AlreadyRegistered
    );
    assert_eq!(s.methods(u).await.unwrap().len(), 1);
    // The refused registration did not use up its code either.
    assert!(s.challenge_get(b).await.unwrap().unwrap().used_at.is_none());
}

pub async fn an_app_counts_only_once_confirmed_and_each_step_is_accepted_once<S>(s: &S)
where
    S: AccountStore + MethodStore,
{
    let ids = s
        .create_users(&[new_user("jan", Some("+31612345678"))], Timestamp(1))
        .await
        .unwrap();
    let user = ids[0];
    let first = s
        .app_pending_put(user, "Telefoon", b"sealed-1", Timestamp(10))
        .await
        .unwrap();
    assert_eq!(
        s.methods(user).await.unwrap().len(),
        1,
        "pending is not a method"
    );
    // A second set-up replaces the first.
    let second = s
        .app_pending_put(user, "Telefoon", b"sealed-2", Timestamp(20))
        .await
        .unwrap();
    assert!(!s.app_confirm(first, 5, Timestamp(21), false).await.unwrap());
    assert!(
        s.app_pending(user, Timestamp(30)).await.unwrap().is_none(),
        "too old"
    );
    let pending = s.app_pending(user, Timestamp(0)).await.unwrap().unwrap();
    assert_eq!(pending.id, second);
    // As a first method only: the user has a phone, so this refuses.
    assert!(!s.app_confirm(second, 5, Timestamp(22), true).await.unwrap());
    assert!(
        s.app_confirm(second, 5, Timestamp(22), false)
            .await
            .unwrap()
    );
    assert!(
        !s.app_confirm(second, 6, Timestamp(23), false)
            .await
            .unwrap(),
        "once"
    );
    let methods = s.methods(user).await.unwrap();
    assert_eq!(methods.len(), 2);
    assert!(methods[1].is_app());

    assert!(
        !s.app_accept_step(second, 5, Timestamp(24)).await.unwrap(),
        "the first code's step"
    );
    assert!(s.app_accept_step(second, 6, Timestamp(25)).await.unwrap());
    assert!(
        !s.app_accept_step(second, 6, Timestamp(26)).await.unwrap(),
        "replay"
    );
    assert!(
        !s.app_accept_step(second, 4, Timestamp(26)).await.unwrap(),
        "older"
    );

    assert!(
        !s.method_remove(UserId(999), second, false).await.unwrap(),
        "not theirs"
    );
    assert!(s.method_remove(user, second, true).await.unwrap());
    assert_eq!(s.methods(user).await.unwrap().len(), 1);
    // The last one stays when one must stay; an administrator may remove it.
    let phone = s.methods(user).await.unwrap()[0].id;
    assert!(!s.method_remove(user, phone, true).await.unwrap());
    assert!(s.method_remove(user, phone, false).await.unwrap());
}

pub async fn the_last_method_stays_when_all_are_removed_at_once<S>(s: &S)
where
    S: AccountStore + MethodStore + Clone + 'static,
{
    let user = s
        .create_users(&[new_user("jan", Some("+31612345678"))], Timestamp(1))
        .await
        .unwrap()[0];
    for n in 0..3 {
        let phone = PhoneNumber::from_stored(&format!("+3161234560{n}")).unwrap();
        s.add_method(user, &MethodKind::Sms { phone }, Timestamp(2))
            .await
            .unwrap();
    }
    let ids: Vec<_> = s
        .methods(user)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids.len(), 4);
    let mut tasks = Vec::new();
    // Many rounds of every method at once: without the account's lock, two removals each
    // see another method left and both go.
    for _ in 0..25 {
        for id in &ids {
            let (s, id) = (s.clone(), *id);
            tasks.push(tokio::spawn(async move {
                s.method_remove(user, id, true).await.unwrap()
            }));
        }
    }
    let mut removed = 0;
    for t in tasks {
        if t.await.unwrap() {
            removed += 1;
        }
    }
    assert_eq!(removed, 3, "every method but one, each once");
    assert_eq!(s.methods(user).await.unwrap().len(), 1, "never the last");
}

pub async fn an_app_and_a_phone_racing_to_be_first_make_one_first_method<S>(s: &S)
where
    S: AccountStore + CodeStore + MethodStore + Clone + 'static,
{
    let user = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    let app = s
        .app_pending_put(user, "Telefoon", b"sealed", Timestamp(5))
        .await
        .unwrap();
    let code = send(s, user, "A", 5, 1_000).await.unwrap();
    let confirm = {
        let s = s.clone();
        tokio::spawn(async move { s.app_confirm(app, 1, Timestamp(6), true).await.unwrap() })
    };
    let register = {
        let s = s.clone();
        tokio::spawn(async move {
            let phone = PhoneNumber::from_stored("+31612345678").unwrap();
            s.challenge_consume(code, Timestamp(6), Some((user, &phone)))
                .await
                .unwrap()
        })
    };
    let confirmed = confirm.await.unwrap();
    let registered = matches!(
        register.await.unwrap(),
        Consumed::Done {
            new_method: Some(_)
        }
    );
    assert!(
        confirmed != registered,
        "exactly one became the first method"
    );
    assert_eq!(s.methods(user).await.unwrap().len(), 1);
}
