#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hostile_input::harness::server_text_is_safe(data));
