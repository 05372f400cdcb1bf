//! Logs go to stderr as az prints them: `WARNING: ...`, `INFO: ...`, `DEBUG: ...`.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::GlobalArgs;

pub fn init(global: &GlobalArgs) {
    let level = if global.debug {
        Level::DEBUG
    } else if global.verbose {
        Level::INFO
    } else if global.only_show_errors {
        Level::ERROR
    } else {
        Level::WARN
    };
    // Our crates only: dependencies' debug logs would bury the requests --debug is for.
    // The core logs each ARM exchange (Authorization redacted) under its own target.
    let filter = format!(
        "warn,hpccache_core={level},{}={level},az_hpccache_ext={level}",
        hpccache_core::azure::client::LOG_TARGET
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .event_format(AzFormat)
        .try_init();
}

struct AzFormat;

impl<S, N> FormatEvent<S, N> for AzFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARNING",
            Level::INFO => "INFO",
            Level::DEBUG | Level::TRACE => "DEBUG",
        };
        write!(writer, "{level}: ")?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    write!(writer, "{}: ", fields)?;
                }
            }
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
