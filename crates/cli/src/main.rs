use clap::Parser;
use tracing_subscriber::EnvFilter;
use tweestap::cli::{Cli, Command};
use tweestap::commands;
use tweestap::config::Config;

fn main() -> std::process::ExitCode {
    // Before any other thread exists: the allocator's settings apply to every arena.
    tweestap_malloc::configure();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(async_main()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn async_main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Demo(args) = &cli.command {
        // The demo takes the configuration as a base and replaces what makes it a demo.
        let base = Config::read(cli.config.as_deref())?;
        return commands::demo::demo(args, base).await;
    }
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => commands::serve::serve(&config).await,
        Command::Migrate => commands::serve::migrate(&config).await,
        Command::User(command) => commands::user::run(&config, command).await,
        Command::Sms(command) => commands::sms::run(&config, command).await,
        Command::Keys(command) => commands::keys::run(&config, command).await,
        Command::Client(command) => commands::clients::run(&config, command).await,
        Command::Entra(command) => commands::entra::run(&config, command).await,
        Command::Demo(_) => unreachable!("handled above"),
    }
}
