//! `init`: the project's identity in `.kittify/config.yaml`.

use crate::app::{App, Report};
use anyhow::Result;
use serde_json::json;

pub fn init(app: &App) -> Result<Report> {
    let project = app.project()?;
    let _lock = project.lock()?;
    let node_id = crate::emitter::local_node_id();
    let (identity, created) = project.ensure_identity(node_id.as_str())?;
    let path = project.config_path();
    Ok(Report {
        human: if created {
            format!("created {} (project {} {})", path.display(), identity.slug, identity.uuid)
        } else {
            format!("{} already holds project {} {}", path.display(), identity.slug, identity.uuid)
        },
        json: json!({"ok": true, "created": created, "config": path, "project": {"uuid": identity.uuid, "slug": identity.slug, "node_id": node_id}}),
    })
}
