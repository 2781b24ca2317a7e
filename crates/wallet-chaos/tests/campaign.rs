//! The campaign on the fake network: clean on the CI seeds, and it catches a mutant.

use wallet_chaos::{Config, Invariant, Mutant, run};

#[test]
fn a_campaign_on_the_fake_network_finds_no_violation_with_faults_on_a_tenth_of_payments() {
    for seed in [1, 2, 3] {
        let report = run(&Config::new(300, seed)).expect("the campaign runs");
        assert!(
            report.violations.is_empty(),
            "seed {seed}: {:?}",
            report.violations.0
        );
        assert!(
            report.payments >= 300,
            "seed {seed}: {} payments",
            report.payments
        );
        assert!(
            report.faults * 10 >= report.payments,
            "seed {seed}: {} faults for {} payments",
            report.faults,
            report.payments
        );
    }
}

#[test]
fn a_wallet_that_reports_a_lost_answer_as_failed_is_caught_on_seed_1() {
    let mut config = Config::new(300, 1);
    config.mutant = Some(Mutant::LostAnswerFailed);
    let report = run(&config).expect("the campaign runs");
    assert!(
        report.violations.count(Invariant::FailedOnlyWhenFailed) > 0,
        "the mutant went unnoticed: {:?}",
        report.violations.0
    );
}

#[test]
fn a_supervisor_without_de_duplication_is_caught_on_seed_1() {
    let mut config = Config::new(300, 1);
    config.mutant = Some(Mutant::NoDedupe);
    let report = run(&config).expect("the campaign runs");
    assert!(
        report.violations.count(Invariant::DeliveredOnce) > 0,
        "the mutant went unnoticed: {:?}",
        report.violations.0
    );
}

#[test]
fn a_payment_protocol_without_its_lookup_before_dispatch_is_caught_on_seed_1() {
    let mut config = Config::new(300, 1);
    config.mutant = Some(Mutant::NoPrelookup);
    let report = run(&config).expect("the campaign runs");
    assert!(
        report.violations.count(Invariant::ErrOnlyWhenNothingSent) > 0,
        "the mutant went unnoticed: {:?}",
        report.violations.0
    );
}

#[test]
fn a_breaking_schedule_shrinks_to_fewer_steps_that_still_break_the_same_invariant() {
    let mut config = Config::new(120, 1);
    config.mutant = Some(Mutant::LostAnswerFailed);
    let steps = wallet_chaos::plan::make(config.payments, config.seed, &config.rates);
    let shrunk = wallet_chaos::shrink::shrink(&steps, &config, Invariant::FailedOnlyWhenFailed);
    assert!(
        shrunk.len() < steps.len() / 4,
        "{} of {} steps",
        shrunk.len(),
        steps.len()
    );
    let report = wallet_chaos::execute(&shrunk, &config).expect("the campaign runs");
    assert!(report.violations.count(Invariant::FailedOnlyWhenFailed) > 0);
}
