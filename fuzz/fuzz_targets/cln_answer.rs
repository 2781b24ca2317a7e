//! lightningd's answer (the JSON `result`) to one call of `CoreLightningWallet`, from a scripted node started once.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wallet_corpus::harness::{Backend, Bed};

static BED: OnceLock<Bed> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let bed = BED.get_or_init(|| match Bed::start(Backend::Cln) {
        Ok(bed) => bed,
        Err(err) => panic!("the scripted node does not start: {err}"),
    });
    let _ = bed.run(data);
});
