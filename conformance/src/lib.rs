#![doc = include_str!("../README.md")]

pub mod behaviours;
pub mod fixtures;
mod harness;
pub mod log_capture;
mod proxy;
mod real_node;
mod report;
mod verdict;

use std::future::Future;

use futures::future::BoxFuture;

pub use harness::{
    FaultHooks, Harness, HarnessError, NoFaults, SelfPayment, SpoiledAnswer, TestBed, Timing,
};
pub use proxy::FaultProxy;
pub use real_node::CommandFaults;
pub use report::REPORT_ENV;
pub use verdict::{Context, Stop, Verdict, fail, unsupported};

/// One behaviour of the suite.
#[derive(Clone, Copy)]
pub struct Behaviour {
    /// Its name, which is also the name of its test.
    pub name: &'static str,
    /// Runs it on a test bed.
    pub run: fn(TestBed) -> BoxFuture<'static, Verdict>,
}

impl std::fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The single list of behaviours; [`suite!`] and [`BEHAVIOURS`] are both made from it.
#[doc(hidden)]
#[macro_export]
macro_rules! __behaviour_list {
    ($mode:ident $args:tt) => {
        $crate::__expand_behaviours!($mode $args
            status_reports_the_balance_in_msat,
            an_unreachable_backend_is_an_error_not_a_zero_balance,
            balances_move_by_amount_and_fee,
            wrong_credentials_are_unauthorized,
            secrets_never_appear_in_debug_output_or_errors,
            created_invoices_carry_amount_memo_and_expiry,
            a_new_invoice_is_pending,
            a_description_hash_is_committed_to_or_unsupported,
            an_unhashed_description_becomes_its_hash,
            amountless_invoices_follow_the_features,
            invalid_invoice_requests_name_the_field,
            an_unknown_invoice_is_unknown,
            a_garbage_checking_id_is_an_invalid_request,
            a_paid_invoice_reports_amount_preimage_and_time,
            an_expired_invoice_is_expired_not_failed,
            the_stream_delivers_a_paid_invoice_with_amount_and_cursor,
            the_stream_delivers_in_settle_order,
            a_stream_without_a_cursor_replays_nothing,
            a_stream_resumes_from_a_cursor_without_misses_or_repeats,
            subscribing_again_after_dropping_a_stream_works,
            a_restart_ends_the_stream_with_an_error,
            the_supervised_stream_survives_a_restart_without_missing_payments,
            a_stream_started_without_a_cursor_misses_nothing_across_a_restart_before_its_first_item,
            a_stream_on_a_quiet_node_stays_open_past_the_call_timeout,
            an_amountless_invoice_reports_the_amount_received,
            paying_succeeds_with_a_valid_preimage_and_fee_within_the_limit,
            paying_twice_sends_once,
            paying_concurrently_sends_once,
            a_fee_limit_below_the_route_fee_is_never_exceeded,
            an_unpayable_invoice_fails_without_moving_money,
            bad_invoices_are_refused_before_dispatch,
            amount_rules_are_checked_before_dispatch,
            invalid_pay_requests_name_the_field,
            an_unknown_payment_is_unknown,
            a_payment_cut_off_by_a_restart_is_pending_never_failed,
            an_unreachable_backend_never_turns_a_payment_failed,
            a_payment_whose_answer_is_lost_is_never_failed_nor_paid_twice,
            a_failed_payment_can_be_retried_and_the_retry_wins,
            paying_an_expired_invoice_that_was_paid_reports_the_payment,
            paying_an_expired_invoice_with_an_attempt_in_flight_reports_pending,
            a_lost_answer_after_an_earlier_failure_is_pending_not_failed,
            an_empty_or_junk_pay_answer_is_pending_never_unknown_or_failed,
            records_about_another_hash_are_never_believed,
            a_slow_node_cannot_stretch_a_payment_past_its_timeout,
            parallel_payments_of_different_invoices_all_complete,
            a_self_payment_behaves_as_documented,
            amountless_payments_follow_the_features,
            a_hold_invoice_is_held_then_settled,
            a_held_hold_invoice_can_be_cancelled,
            settling_a_hold_invoice_before_payment_is_refused,
            a_payment_to_a_held_invoice_is_pending_until_settled,
            a_payment_to_a_cancelled_hold_invoice_fails,
            features_agree_with_what_the_calls_do,
            node_manager_calls_work_or_are_unsupported,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __expand_behaviours {
    (tests [$harness:expr] $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::run_behaviour(stringify!($name), &$harness, $crate::behaviours::$name);
            }
        )*
    };
    (ignored_tests [$harness:expr, $reason:literal] $($name:ident),* $(,)?) => {
        $(
            #[test]
            #[ignore = $reason]
            fn $name() {
                $crate::run_behaviour(stringify!($name), &$harness, $crate::behaviours::$name);
            }
        )*
    };
    (table [] $($name:ident),* $(,)?) => {
        /// Every behaviour of the suite, in order.
        pub const BEHAVIOURS: &[$crate::Behaviour] = &[
            $(
                $crate::Behaviour {
                    name: stringify!($name),
                    run: |bed| Box::pin($crate::behaviours::$name(bed)),
                },
            )*
        ];
    };
}

__behaviour_list!(table []);

/// Expands to one `#[test]` per behaviour, each running it against a fresh test bed from the
/// harness expression: `wallet_conformance::suite!(MyHarness::default());` at the top level of
/// an integration test. The crate documentation has a complete example.
///
/// A harness that needs a server plain `cargo test` does not start adds `ignore = "how to run
/// them"`: the tests are then ignored by default (never counted as passed) and run with
/// `--include-ignored` by whatever starts the server.
#[macro_export]
macro_rules! suite {
    ($harness:expr) => {
        $crate::__behaviour_list!(tests [$harness]);
    };
    ($harness:expr, ignore = $reason:literal) => {
        $crate::__behaviour_list!(ignored_tests [$harness, $reason]);
    };
}

/// Runs one behaviour on its own runtime: sets up a test bed, runs the behaviour within
/// [`Timing::behaviour`], records the outcome (see [`REPORT_ENV`]) and panics if it failed, so
/// that the test fails with the reason. An unsupported outcome passes the test and is recorded
/// as unsupported, with the reason printed.
pub fn run_behaviour<H, F, Fut>(name: &str, harness: &H, behaviour: F)
where
    H: Harness,
    F: FnOnce(TestBed) -> Fut,
    Fut: Future<Output = Verdict>,
{
    let verdict = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(async {
            let bed = harness.setup().await.map_err(|err| match err {
                HarnessError::Unsupported(reason) => Stop::Unsupported(reason),
                other => fail(format!("setting up the test bed: {other}")),
            })?;
            let limit = bed.timing.behaviour;
            match tokio::time::timeout(limit, behaviour(bed)).await {
                Ok(verdict) => verdict,
                Err(_) => Err(fail(format!(
                    "the behaviour did not finish within {} s",
                    limit.as_secs()
                ))),
            }
        }),
        Err(err) => Err(fail(format!("cannot start a runtime: {err}"))),
    };
    match verdict {
        Ok(()) => report::record(name, "passed", ""),
        Err(Stop::Unsupported(reason)) => {
            println!("{name}: unsupported: {reason}");
            report::record(name, "unsupported", &reason);
        }
        Err(Stop::Failed(message)) => {
            report::record(name, "failed", &message);
            fail_test(name, &message);
        }
    }
}

#[allow(clippy::panic)] // Failing the surrounding #[test] is this function's job.
fn fail_test(name: &str, message: &str) -> ! {
    panic!("{name}: {message}");
}
