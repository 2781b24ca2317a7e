//! Shrinking a schedule that breaks an invariant: steps are left out, a chunk at a time, while
//! the rest still breaks the same invariant, within a budget of runs.

use crate::campaign::{Config, execute};
use crate::oracle::Invariant;
use crate::plan::Step;

/// At most this many runs are spent shrinking.
pub const MAX_RUNS: usize = 60;

/// Whether `steps` still break `invariant`.
fn breaks(steps: &[Step], config: &Config, invariant: Invariant) -> bool {
    execute(steps, config).is_ok_and(|report| report.violations.count(invariant) > 0)
}

/// A shorter schedule that still breaks `invariant` (the same one when none is found).
pub fn shrink(steps: &[Step], config: &Config, invariant: Invariant) -> Vec<Step> {
    let config = &Config {
        progress: false,
        ..config.clone()
    };
    let mut steps = steps.to_vec();
    let mut runs = 0;
    let mut chunk = steps.len() / 2;
    while chunk > 0 && runs < MAX_RUNS {
        let mut start = 0;
        while start < steps.len() && runs < MAX_RUNS {
            let end = (start + chunk).min(steps.len());
            let candidate: Vec<Step> = steps[..start]
                .iter()
                .chain(&steps[end..])
                .cloned()
                .collect();
            runs += 1;
            if breaks(&candidate, config, invariant) {
                steps = candidate;
            } else {
                start = end;
            }
        }
        chunk /= 2;
    }
    steps
}
