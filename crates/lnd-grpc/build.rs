//! Compiles the lnd proto subset with protox (no protoc needed) into tonic client and server code.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = PathBuf::from("proto");
    println!("cargo:rerun-if-changed={}", proto_dir.display());
    let files = ["lightning.proto", "router.proto", "invoices.proto"];
    let descriptors = protox::compile(files, [&proto_dir])?;
    tonic_prost_build::configure()
        .build_client(std::env::var_os("CARGO_FEATURE_CLIENT").is_some())
        .build_server(std::env::var_os("CARGO_FEATURE_SERVER").is_some())
        .build_transport(false)
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
