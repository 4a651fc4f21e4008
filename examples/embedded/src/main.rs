//! A notes application that upgrades its database before it starts: the
//! migrations in `migrations/versions/` are compiled into the binary.
//!
//! `rev-example-embedded [DATABASE_URL]` (default `sqlite://notes.db`).

use std::process::ExitCode;

static MIGRATIONS: rev::Embedded = rev::embed!("migrations");

fn main() -> ExitCode {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite://notes.db".to_owned());
    let migrator = MIGRATIONS.migrator().on_event(|event| {
        if let rev::Event::Finished { step, duration } = event {
            eprintln!(
                "migrated: {} {} ({} ms)",
                step.direction.as_str(),
                step.revision,
                duration.as_millis()
            );
        }
    });
    match run(migrator, &url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cannot start: {error}");
            // The application decides what each failure means for it.
            let code = match error {
                rev::Error::UnknownRevision(_) => 3,
                rev::Error::Edited(_) => 4,
                rev::Error::Project(_) => 5,
                _ => 1,
            };
            ExitCode::from(code)
        }
    }
}

fn run(mut migrator: rev::Migrator, url: &str) -> Result<(), rev::Error> {
    let report = migrator.upgrade(url, "heads")?;
    println!(
        "database at {}; {} migration(s) applied now",
        report.to.join(", "),
        report.applied.len()
    );
    Ok(())
}
