//! Finding and reading a feature folder (`kitty-specs/NNN-slug/`) for the core to check, through the
//! repository's capability directory: a slug or a link cannot make it read outside the repository.

use crate::app::invalid;
use crate::git;
use crate::repo_files::RepoFiles;
use anyhow::Result;
use spec_kitty_core::workflow::feature::FeatureMeta;
use spec_kitty_core::workflow::plans::layout::{SPECS_DIR, feature_dir, feature_file};
use spec_kitty_core::workflow::plans::{
    FeatureChoice, FeatureFolder, FeatureReading, FeatureTexts, check_slug, choose_feature,
};
use std::path::Path;

/// The feature folders of `kitty-specs/`: those with a tasks.md, a meta.json or a tasks folder.
fn slugs(files: &RepoFiles) -> Result<Vec<String>> {
    let Some(names) = files.list(SPECS_DIR)? else {
        return Err(invalid(format!("no features: {} does not exist", files.label(SPECS_DIR))));
    };
    let is_feature = |slug: &str| {
        // A folder that leads outside the repository is no feature of it (and is not read).
        files.is_file(&feature_file(slug, "tasks.md")).unwrap_or(false)
            || files.is_file(&feature_file(slug, "meta.json")).unwrap_or(false)
            || files.is_dir(&feature_file(slug, "tasks"))
    };
    Ok(names.into_iter().filter(|slug| check_slug(slug).is_ok() && is_feature(slug)).collect())
}

/// `--feature`, else the feature the branch or folder names, else the only feature (the core's rule).
pub fn resolve_slug(files: &RepoFiles, cwd: &Path, requested: Option<&str>) -> Result<String> {
    if let Some(slug) = requested {
        check_slug(slug)?;
    }
    let available = slugs(files)?;
    let branch = git::current_branch(cwd).unwrap_or_default();
    let folder = cwd.to_string_lossy();
    let specs_label = files.label(SPECS_DIR);
    Ok(choose_feature(FeatureChoice {
        available: &available,
        requested,
        branch: &branch,
        folder: &folder,
        specs_label: &specs_label,
    })?)
}

/// Reads a feature folder's meta.json, tasks.md and WP files, without judging them (meta.json is
/// parsed: one that is not JSON, or has a field of the wrong type or shape, is an error naming
/// the file and field).
pub fn read_texts(files: &RepoFiles, slug: &str) -> Result<FeatureTexts> {
    let dir = feature_dir(slug);
    let meta_path = feature_file(slug, "meta.json");
    let meta = match files.read_optional(&meta_path)? {
        Some(text) => Some(FeatureMeta::parse(&files.label(&meta_path), &text)?),
        None => None,
    };
    let tasks_path = feature_file(slug, "tasks.md");
    let tasks = files.read_optional(&tasks_path)?.map(|text| (files.label(&tasks_path), text));
    let mut wp_files = Vec::new();
    let tasks_dir = feature_file(slug, "tasks");
    for name in files.list(&tasks_dir)?.unwrap_or_default() {
        let path = format!("{tasks_dir}/{name}");
        if name.starts_with("WP") && name.ends_with(".md") && files.is_file(&path)? {
            wp_files.push((files.label(&path), files.read(&path)?));
        }
    }
    Ok(FeatureTexts { slug: slug.to_string(), dir_label: files.label(&dir), meta, tasks, wp_files })
}

pub fn load(files: &RepoFiles, slug: &str) -> Result<FeatureFolder> {
    load_for(files, slug, &FeatureReading::Whole)
}

/// The feature, every file read and checked, parsed as far as `reading` needs it; parsed whole when the
/// partial parse missed its WP, so that the error lists the WPs the feature has.
pub fn load_for(files: &RepoFiles, slug: &str, reading: &FeatureReading) -> Result<FeatureFolder> {
    let texts = read_texts(files, slug)?;
    if reading == &FeatureReading::Whole {
        return Ok(FeatureFolder::from_texts(texts)?);
    }
    let folder = FeatureFolder::from_texts_read(reading.select(&texts), reading)?;
    if reading.must_read_whole(&folder) { Ok(FeatureFolder::from_texts(texts)?) } else { Ok(folder) }
}
