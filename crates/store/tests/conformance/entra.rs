//! Entra users linked to accounts, answered hints and imported numbers: one account, one
//! Entra user, and each hint once, also when requests race.

use tweestap_core::ports::{
    AccountStore, EntraStore, MethodStore, PhoneImport, PhoneImported, StoreError,
};
use tweestap_core::{NewUser, PhoneNumber, Timestamp, Username};

const T1: &str = "5c3a1f7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b";
const T2: &str = "0f0f0f0f-1111-4222-8333-444455556666";

fn user(name: &str) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        display_name: name.into(),
        email: None,
        password_hash: None,
        phone: None,
    }
}

fn row(line: usize, oid: &str, name: &str, phone: &str) -> (PhoneImport, String) {
    (
        PhoneImport {
            line,
            tenant_id: T1.into(),
            object_id: oid.into(),
            user: user(name),
            phone: PhoneNumber::from_stored(phone).unwrap(),
        },
        format!("sub-{name}"),
    )
}

pub async fn one_account_one_entra_user<S>(s: &S)
where
    S: AccountStore + MethodStore + EntraStore,
{
    let jan = s
        .entra_create_user(T1, "oid-jan", &user("jan"), "sub-jan", Timestamp(1))
        .await
        .unwrap();
    assert_eq!(s.entra_user(T1, "oid-jan").await.unwrap(), Some(jan));
    assert_eq!(
        s.entra_user(T2, "oid-jan").await.unwrap(),
        None,
        "per tenant"
    );
    // The account is taken, in this tenant and any other; the Entra user too.
    assert!(
        !s.entra_link(T1, "oid-other", jan, Timestamp(2))
            .await
            .unwrap()
    );
    assert!(
        !s.entra_link(T2, "oid-other", jan, Timestamp(2))
            .await
            .unwrap()
    );
    let piet = s
        .create_users(&[(user("piet"), "sub-piet".into())], Timestamp(2))
        .await
        .unwrap()[0];
    assert!(
        !s.entra_link(T1, "oid-jan", piet, Timestamp(3))
            .await
            .unwrap()
    );
    assert!(
        s.entra_link(T1, "oid-piet", piet, Timestamp(3))
            .await
            .unwrap()
    );
    // A name that is taken creates nothing, not even the link.
    let err = s
        .entra_create_user(T1, "oid-new", &user("jan"), "sub-x", Timestamp(4))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.entra_user(T1, "oid-new").await.unwrap(), None);
}

pub async fn a_hint_is_answered_once_and_forgotten_when_stale<S>(s: &S)
where
    S: AccountStore + MethodStore + EntraStore,
{
    assert!(
        s.entra_hint_use("h1", Timestamp(100), Timestamp(1))
            .await
            .unwrap()
    );
    assert!(
        !s.entra_hint_use("h1", Timestamp(100), Timestamp(2))
            .await
            .unwrap()
    );
    // After it expired the row is gone (the hint would be refused as stale anyway).
    assert!(
        s.entra_hint_use("h2", Timestamp(300), Timestamp(200))
            .await
            .unwrap()
    );
    assert!(
        s.entra_hint_use("h1", Timestamp(300), Timestamp(201))
            .await
            .unwrap()
    );
}

pub async fn importing_numbers_is_all_or_nothing_and_repeatable<S>(s: &S)
where
    S: AccountStore + MethodStore + EntraStore,
{
    let piet = s
        .create_users(&[(user("piet"), "sub-piet".into())], Timestamp(1))
        .await
        .unwrap()[0];
    let rows = vec![
        row(2, "oid-jan", "jan", "+31612345678"),
        row(3, "oid-piet", "piet", "+31612340000"),
    ];
    let first = s
        .entra_import_phones(&rows, false, Timestamp(2))
        .await
        .unwrap();
    assert_eq!(first, [PhoneImported::Created, PhoneImported::Unlinked]);
    assert_eq!(s.entra_user(T1, "oid-piet").await.unwrap(), None);
    let again = s
        .entra_import_phones(&rows, true, Timestamp(3))
        .await
        .unwrap();
    assert_eq!(again, [PhoneImported::Unchanged, PhoneImported::Added]);
    assert_eq!(s.entra_user(T1, "oid-piet").await.unwrap(), Some(piet));
    assert_eq!(s.methods(piet).await.unwrap().len(), 1);
    let third = s
        .entra_import_phones(&rows, true, Timestamp(4))
        .await
        .unwrap();
    assert_eq!(third, [PhoneImported::Unchanged, PhoneImported::Unchanged]);

    // A row that would link an account taken by another Entra user rolls back the others.
    let kees = s
        .create_users(&[(user("kees"), "sub-kees".into())], Timestamp(5))
        .await
        .unwrap()[0];
    assert!(
        s.entra_link(T2, "oid-kees-elsewhere", kees, Timestamp(5))
            .await
            .unwrap()
    );
    let clash = vec![
        row(2, "oid-anna", "anna", "+31612345600"),
        row(3, "oid-kees", "kees", "+31612345601"),
    ];
    let err = s
        .entra_import_phones(&clash, true, Timestamp(6))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    let anna = Username::parse("anna").unwrap();
    assert!(
        s.user_by_username(&anna).await.unwrap().is_none(),
        "nothing half-written"
    );
    assert_eq!(s.entra_user(T1, "oid-anna").await.unwrap(), None);
}

pub async fn links_and_hints_raced_from_many_requests_succeed_once<S>(s: &S)
where
    S: AccountStore + EntraStore + Clone + 'static,
{
    let jan = s
        .create_users(&[(user("jan"), "sub-jan".into())], Timestamp(1))
        .await
        .unwrap()[0];
    let mut links = Vec::new();
    let mut hints = Vec::new();
    for n in 0..200 {
        let s1 = s.clone();
        links.push(tokio::spawn(async move {
            s1.entra_link(T1, &format!("object-{n}"), jan, Timestamp(2))
                .await
                .unwrap()
        }));
        let s2 = s.clone();
        hints.push(tokio::spawn(async move {
            s2.entra_hint_use("hint-hash", Timestamp(900), Timestamp(2))
                .await
                .unwrap()
        }));
    }
    let mut linked = 0;
    for t in links {
        linked += usize::from(t.await.unwrap());
    }
    let mut used = 0;
    for t in hints {
        used += usize::from(t.await.unwrap());
    }
    assert_eq!(linked, 1, "one account, one Entra user");
    assert_eq!(used, 1, "a hint is answered once");
}
