//! `spec-kitty agent config init`.

use super::programs;
use crate::app::{App, Report, invalid};
use anyhow::{Context, Result};
use serde_json::json;
use spec_kitty_core::orchestrate::starter::{FoundAgent, starter_yaml};
use spec_kitty_core::orchestrate::{AGENTS_FILE, KNOWN_AGENTS};

/// `spec-kitty agent config init`: a commented starter agents.yaml listing the agent CLIs on PATH.
pub fn config_init(app: &App, force: bool) -> Result<Report> {
    let project = app.project()?;
    let path = project.root.join(AGENTS_FILE);
    if path.exists() && !force {
        return Err(invalid(format!("{AGENTS_FILE} exists already: edit it, or write a new starter with --force")));
    }
    let path_var = std::env::var_os("PATH");
    let found: Vec<FoundAgent> = KNOWN_AGENTS
        .iter()
        .filter_map(|known| {
            let program = programs::resolve(known.program, &project.root, path_var.as_deref())?;
            Some(FoundAgent { agent: *known, path: program.display().to_string() })
        })
        .collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::state::write_atomically(&path, starter_yaml(&found).as_bytes())?;
    let names: Vec<String> = found.iter().map(|f| format!("{} ({})", f.agent.program, f.path)).collect();
    Ok(Report {
        human: if found.is_empty() {
            format!("wrote {AGENTS_FILE}: no agent CLI found on PATH; enable one there and set its command")
        } else {
            format!("wrote {AGENTS_FILE} with {}: complete each agent's command (see the README)", names.join(", "))
        },
        json: json!({
            "ok": true, "path": AGENTS_FILE,
            "found": found.iter().map(|f| json!({"agent": f.agent.id, "program": f.agent.program, "path": f.path})).collect::<Vec<_>>(),
        }),
    })
}
