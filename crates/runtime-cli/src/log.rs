//! Errors as runc reports them: one line on stderr, and in `--log` (text or JSON lines,
//! the JSON form being what containerd and podman parse).

use std::io::Write;
use std::path::PathBuf;

pub struct Logger {
    file: Option<PathBuf>,
    json: bool,
}

impl Logger {
    pub fn new(file: Option<PathBuf>, format: &str) -> Self {
        Logger { file, json: format == "json" }
    }

    pub fn error(&self, e: &dyn std::fmt::Display) {
        let msg = e.to_string();
        eprintln!("berth-runtime: {msg}");
        let Some(path) = &self.file else { return };
        let time = berth_runtime::state::now_rfc3339();
        let line = if self.json {
            serde_json::json!({"level": "error", "msg": msg, "time": time}).to_string()
        } else {
            format!("time=\"{time}\" level=error msg={msg:?}")
        };
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{line}");
        }
    }
}
