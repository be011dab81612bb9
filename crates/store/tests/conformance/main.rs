//! The storage port's behaviour, the same on every backend: each test here runs against a
//! fresh SQLite file and a fresh PostgreSQL database (one throw-away database per test, on the
//! server `TWEESTAP_TEST_POSTGRES` names, by default the local one). Without a reachable
//! PostgreSQL its half is skipped with a printed reason, except under `CI=true`, where it
//! fails. Parts move here from `sqlite_store.rs` as PostgreSQL implements them.

mod accounts;
mod approvals;
mod audit;
mod backends;
mod codes;
mod email;
mod entra;
mod methods;
mod oidc;
mod outbox;
mod sessions;

/// Runs each named test (an `async fn(&S)` in its part's module) once per backend.
macro_rules! on_every_backend {
    ($($part:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = crate::backends::sqlite().await;
                    crate::$part::$name(&store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = crate::backends::postgres(stringify!($name)).await else {
                        return;
                    };
                    crate::$part::$name(&db.store).await;
                    db.drop_database().await;
                }
            )*
        }
    };
}

on_every_backend! {
    accounts::a_clash_in_a_batch_creates_nobody,
    accounts::accounts_are_found_by_name_and_id_and_listed_in_order,
    accounts::password_and_language_are_written,
    sessions::sessions_round_trip_and_expire,
    sessions::a_users_sessions_end_together_except_the_one_kept,
    approvals::webauthn_ceremonies_are_taken_once_by_their_owner_and_bounded_per_account,
    approvals::a_link_request_is_answered_only_after_the_computer_confirms_it,
    approvals::sign_in_requests_raced_at_once_stop_at_one_pending,
    audit::audit_lines_come_back_newest_first_per_user,
    audit::a_large_batch_of_audit_lines_arrives_whole_and_in_order,
    codes::parallel_attempts_are_each_counted_once,
    codes::a_code_used_by_many_at_once_signs_in_only_one,
    codes::two_registrations_at_once_add_one_first_phone,
    codes::codes_sent_at_once_stop_at_the_budget,
    codes::failures_at_once_stop_at_the_limit,
    codes::failures_are_counted_per_key_and_window_and_cleared,
    entra::one_account_one_entra_user,
    entra::a_hint_is_answered_once_and_forgotten_when_stale,
    entra::importing_numbers_is_all_or_nothing_and_repeatable,
    entra::links_and_hints_raced_from_many_requests_succeed_once,
    email::e_mails_go_out_once_are_retried_and_listed,
    email::workers_claiming_e_mails_at_once_each_get_their_own,
    outbox::a_new_code_supersedes_the_old_one_of_the_same_flow_only,
    outbox::a_refused_budget_writes_neither_code_nor_message,
    outbox::the_outbox_hands_each_message_to_one_worker_and_remembers_interruptions,
    outbox::blocking_an_account_cancels_what_is_queued_and_uses_up_the_report_link,
    outbox::workers_claiming_at_once_each_get_their_own_messages,
    oidc::clients_are_added_once_listed_and_removed,
    oidc::signing_keys_are_published_newest_first_until_retired,
    oidc::a_code_presented_many_times_at_once_is_redeemed_once_and_the_rest_revoked,
    oidc::tokens_are_active_until_revoked_or_expired,
    oidc::consents_are_kept_per_user_and_client_and_go_with_the_client,
    methods::replace_phone_leaves_exactly_one_sms_method,
    methods::registration_adds_the_first_phone_only,
    methods::an_app_counts_only_once_confirmed_and_each_step_is_accepted_once,
    methods::the_last_method_stays_when_all_are_removed_at_once,
    methods::an_app_and_a_phone_racing_to_be_first_make_one_first_method,
}
