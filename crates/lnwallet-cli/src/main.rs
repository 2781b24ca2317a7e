//! `lnwallet`: the command line over every backend of this workspace (see the library,
//! `lnwallet_cli`, for building one with more backends).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    lnwallet_cli::run(lnwallet::registry()).await
}
