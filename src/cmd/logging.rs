//! Logging for every subcommand: levels from `--log-level` or `RUST_LOG` (env_logger's filter
//! syntax, `haema=debug,warn`), lines as text or one JSON object each (`--log-format json`),
//! with the structured fields a record carries (a request's method, path, status, bytes and
//! latency) kept as fields.

use std::io::Write;

use clap::ValueEnum;
use log::kv::{Key, Value, VisitSource};

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`
    #[default]
    Text,
    /// One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`.
    Json,
}

/// The fields of a record, in the order they were given.
struct Fields(Vec<(String, serde_json::Value)>);

impl<'kvs> VisitSource<'kvs> for Fields {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let v = if let Some(n) = value.to_u64() {
            serde_json::json!(n)
        } else if let Some(n) = value.to_i64() {
            serde_json::json!(n)
        } else if let Some(f) = value.to_f64() {
            serde_json::json!(f)
        } else if let Some(b) = value.to_bool() {
            serde_json::json!(b)
        } else {
            serde_json::json!(value.to_string())
        };
        self.0.push((key.as_str().to_owned(), v));
        Ok(())
    }
}

/// Installs the logger. `level` (from `--log-level`) wins over `RUST_LOG`; without either,
/// `default` (the server says `info`, one-shot commands `warn`: their stdout is the product and
/// their errors are printed on their own).
pub fn init(level: Option<&str>, format: LogFormat, default: &str) {
    let mut b = env_logger::Builder::new();
    match level
        .map(str::to_owned)
        .or_else(|| std::env::var("RUST_LOG").ok())
    {
        Some(filter) => b.parse_filters(&filter),
        None => b.parse_filters(default),
    };
    b.format(move |buf, record| {
        let mut fields = Fields(Vec::new());
        let _ = record.key_values().visit(&mut fields);
        let ts = buf.timestamp_millis();
        match format {
            LogFormat::Text => {
                let mut line = format!(
                    "{ts} {:<5} {} {}",
                    record.level(),
                    record.target(),
                    record.args()
                );
                for (k, v) in &fields.0 {
                    match v {
                        serde_json::Value::String(s) => line += &format!(" {k}={s:?}"),
                        other => line += &format!(" {k}={other}"),
                    }
                }
                writeln!(buf, "{line}")
            }
            LogFormat::Json => {
                let mut o = serde_json::Map::new();
                o.insert("ts".into(), ts.to_string().into());
                o.insert("level".into(), record.level().as_str().into());
                o.insert("target".into(), record.target().into());
                o.insert("msg".into(), record.args().to_string().into());
                o.extend(fields.0);
                writeln!(buf, "{}", serde_json::Value::Object(o))
            }
        }
    });
    // A second init (tests running several commands in one process) keeps the first logger.
    let _ = b.try_init();
}
