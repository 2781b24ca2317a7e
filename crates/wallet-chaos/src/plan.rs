//! The schedule: a list of steps made from a seed before anything runs, so that a campaign can
//! be replayed, and shrunk by running it again with steps left out.

use std::fmt;

use crate::rng::Rng;

/// The faults a payment can meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The payment goes ahead; its answer never reaches the wallet.
    LostAnswer,
    /// The payment stays in flight until a later step settles or fails it.
    Stall,
    /// The node fails the payment for good.
    Fail,
    /// The first HTLC fails at a hop; the node retries and pays.
    RouteFailureThenSuccess,
    /// Settlement takes longer than usual (within the budget).
    SlowSettlement,
    /// The payer node is unreachable for this payment.
    Offline,
    /// The payee node restarts: its streams drop.
    PayeeRestart,
    /// What serves the payer (its node, its simulator, or LNbits) restarts while the payment is
    /// under way: connections drop, the state stays.
    PayerRestart,
    /// Every connection to what serves the payer drops while the payment is under way (on the
    /// LNbits bed: LNbits' connections to its node).
    ConnectionKill,
    /// The payer node answers lookups only after the payment's whole budget: the lookup before
    /// dispatch cannot finish in time.
    SlowLookups,
}

const FAULTS: [Fault; 10] = [
    Fault::LostAnswer,
    Fault::Stall,
    Fault::Fail,
    Fault::RouteFailureThenSuccess,
    Fault::SlowSettlement,
    Fault::Offline,
    Fault::PayeeRestart,
    Fault::PayerRestart,
    Fault::ConnectionKill,
    Fault::SlowLookups,
];

/// Which invoice a payment is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A new invoice from the payee.
    New {
        /// What it asks, or what the payer names for an amountless one.
        amount_msat: u64,
        /// Issued without an amount.
        amountless: bool,
        /// A hold invoice, resolved by a later step (or at the end).
        hold: bool,
        /// Issued with a short expiry, so that a later [`Step::Pass`] expires it (paid, in
        /// flight or not).
        short_expiry: bool,
    },
    /// An invoice issued before (by its position modulo how many there are): a retry or a
    /// re-pay.
    Again {
        /// Which.
        pick: u64,
    },
}

/// One step of a campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A payment: by each listed wallet instance at once (one entry: a lone call).
    Pay {
        /// For which invoice.
        target: Target,
        /// The fault set before it.
        fault: Option<Fault>,
        /// The instances paying, 0 or 1.
        instances: Vec<usize>,
    },
    /// A stalled payment ends: settled, or failed.
    Release {
        /// Which (modulo how many are stalled).
        pick: u64,
        /// Settled rather than failed.
        succeed: bool,
    },
    /// A payment and an invoice status are asked at a random moment.
    Lookup {
        /// Of which invoice (modulo how many there are).
        pick: u64,
        /// From which instance.
        instance: usize,
    },
    /// An open hold invoice is settled or cancelled, late.
    ResolveHold {
        /// Which (modulo how many are open).
        pick: u64,
        /// Settled rather than cancelled.
        settle: bool,
    },
    /// Time passes beyond the short expiry: every invoice issued with it has expired, including
    /// those paid or with a payment in flight, which later steps may pay again.
    Pass,
    /// The process reading the paid-invoice stream restarts: a new supervised stream resumes
    /// from the cursor the last one persisted.
    SubscriberRestart,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pay {
                target,
                fault,
                instances,
            } => {
                match target {
                    Target::New {
                        amount_msat,
                        amountless,
                        hold,
                        short_expiry,
                    } => write!(
                        f,
                        "pay a new {}{}{}invoice of {amount_msat} msat",
                        if *short_expiry { "short-lived " } else { "" },
                        if *hold { "hold " } else { "" },
                        if *amountless { "amountless " } else { "" }
                    )?,
                    Target::Again { pick } => write!(f, "pay invoice #{pick} again")?,
                }
                write!(f, " from instances {instances:?}")?;
                if let Some(fault) = fault {
                    write!(f, " with {fault:?}")?;
                }
                Ok(())
            }
            Self::Release { pick, succeed } => write!(
                f,
                "{} stalled payment #{pick}",
                if *succeed { "settle" } else { "fail" }
            ),
            Self::Lookup { pick, instance } => {
                write!(f, "look up invoice #{pick} from instance {instance}")
            }
            Self::ResolveHold { pick, settle } => write!(
                f,
                "{} hold invoice #{pick}",
                if *settle { "settle" } else { "cancel" }
            ),
            Self::Pass => f.write_str("let the short-lived invoices expire"),
            Self::SubscriberRestart => f.write_str("restart the subscriber from its cursor"),
        }
    }
}

/// The rates a schedule is made with, in percent.
#[derive(Clone, Debug)]
pub struct Rates {
    /// A payment meets a fault.
    pub fault: u64,
    /// A payment is made by several calls at once.
    pub duplicate: u64,
    /// A payment is for an invoice paid (or tried) before.
    pub retry: u64,
    /// A new invoice is amountless.
    pub amountless: u64,
    /// A new invoice is a hold invoice.
    pub hold: u64,
    /// A status lookup follows a payment.
    pub lookup: u64,
    /// A new invoice (not a hold invoice) has a short expiry; time passes beyond it after a
    /// payment step half as often.
    pub short_expiry: u64,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            fault: 35,
            duplicate: 15,
            retry: 15,
            amountless: 20,
            hold: 10,
            lookup: 20,
            short_expiry: 10,
        }
    }
}

fn pick(rng: &mut Rng) -> u64 {
    rng.next_u64() >> 1
}

/// `payments` payment steps from `seed`, with releases, lookups and hold resolutions between.
pub fn make(payments: u64, seed: u64, rates: &Rates) -> Vec<Step> {
    let mut rng = Rng::new(seed);
    let mut steps = Vec::new();
    for index in 0..payments {
        let target = if index > 0 && rng.chance(rates.retry) {
            Target::Again {
                pick: pick(&mut rng),
            }
        } else {
            let hold = rng.chance(rates.hold);
            Target::New {
                amount_msat: 1_000 + rng.below(50_000),
                amountless: !hold && rng.chance(rates.amountless),
                hold,
                short_expiry: !hold && rng.chance(rates.short_expiry),
            }
        };
        let fault = rng
            .chance(rates.fault)
            .then(|| FAULTS[usize::try_from(rng.below(FAULTS.len() as u64)).unwrap_or(0)]);
        let copies = if rng.chance(rates.duplicate) {
            2 + rng.below(2)
        } else {
            1
        };
        let instances = (0..copies).map(|_| usize::from(rng.chance(50))).collect();
        steps.push(Step::Pay {
            target,
            fault,
            instances,
        });
        if rng.chance(30) {
            steps.push(Step::Release {
                pick: pick(&mut rng),
                succeed: rng.chance(70),
            });
        }
        if rng.chance(rates.lookup) {
            steps.push(Step::Lookup {
                pick: pick(&mut rng),
                instance: usize::from(rng.chance(50)),
            });
        }
        if rng.chance(30) {
            steps.push(Step::ResolveHold {
                pick: pick(&mut rng),
                settle: rng.chance(70),
            });
        }
        if rng.chance(rates.short_expiry / 2) {
            steps.push(Step::Pass);
        }
        if rng.chance(2) {
            steps.push(Step::SubscriberRestart);
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_makes_the_same_schedule_and_another_seed_another() {
        let rates = Rates::default();
        assert_eq!(make(100, 7, &rates), make(100, 7, &rates));
        assert_ne!(make(100, 7, &rates), make(100, 8, &rates));
        let payments = make(100, 7, &rates)
            .iter()
            .filter(|step| matches!(step, Step::Pay { .. }))
            .count();
        assert_eq!(payments, 100);
    }
}
