#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hostile_input::harness::bolt11(data));
