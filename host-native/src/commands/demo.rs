use anyhow::Result; use crate::app::Report; pub fn run(_keep: bool) -> Result<Report> { anyhow::bail!("demo: not yet") }
