#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hostile_input::harness::rfc3339(data));
