use super::*;

const META: &str = r#"{
  "feature_number": "028",
  "slug": "028-cli-event-emission-sync",
  "friendly_name": "CLI Event Emission + Sync",
  "mission": "software-dev",
  "created_at": "2026-02-03T12:00:00Z",
  "target_branch": "2.x",
  "vcs": "git"
}
"#;

#[test]
fn typed_fields_and_unknown_keys_survive_a_rewrite() {
    let mut meta = FeatureMeta::parse("meta.json", META).expect("valid meta");
    assert_eq!(meta.feature_number.as_deref(), Some("028"));
    assert_eq!(meta.number().as_deref(), Some("028"));
    assert!(!meta.is_mission_format());
    assert_eq!(meta.target_branch.as_deref(), Some("2.x"));
    assert_eq!(meta.get("vcs"), Some(&Value::String("git".into())));
    assert_eq!(meta.to_json_pretty(), META);

    meta.friendly_name = Some("Renamed – with dash".into());
    meta.target_branch = None;
    meta.set_other("vcs_locked_at", Value::String("2026-02-04".into()));
    let rewritten = meta.to_json_pretty();
    let keys: Vec<String> = match serde_json::from_str::<Value>(&rewritten) {
        Ok(Value::Object(document)) => document.keys().cloned().collect(),
        other => panic!("rewrite is not an object: {other:?}"),
    };
    assert_eq!(keys, ["feature_number", "slug", "friendly_name", "mission", "created_at", "vcs", "vcs_locked_at"]);
    assert!(rewritten.contains("\"friendly_name\": \"Renamed – with dash\""));
}

#[test]
fn a_new_meta_lists_the_typed_fields_in_contract_order() {
    let mut meta = FeatureMeta::new("029", "029-x", "X");
    meta.target_branch = Some("main".into());
    assert_eq!(
        meta.to_json_pretty(),
        "{\n  \"feature_number\": \"029\",\n  \"slug\": \"029-x\",\n  \"friendly_name\": \"X\",\n  \"target_branch\": \"main\"\n}\n"
    );
}

const MISSION: &str = r#"{
  "mission_id": "01M07E9PV8R2X74SM75BYY279F",
  "mission_number": 7,
  "slug": "cascade-org-inert-01M07E9P",
  "mission_slug": "cascade-org-inert-01M07E9P",
  "friendly_name": "Cascade Org Inert",
  "mission_type": "software-dev",
  "target_branch": "main",
  "vcs": "git"
}
"#;

#[test]
fn the_mission_format_reads_and_rewrites_without_gaining_028_keys() {
    let mut meta = FeatureMeta::parse("meta.json", MISSION).expect("mission format");
    assert!(meta.is_mission_format());
    assert_eq!((meta.feature_number.as_deref(), meta.mission_number), (None, Some(7)));
    assert_eq!(meta.number().as_deref(), Some("007"));
    assert_eq!(meta.to_json_pretty(), MISSION, "written back unchanged");
    meta.set_other("accepted_at", Value::String("2026-03-01T00:00:00Z".into()));
    let rewritten = meta.to_json_pretty();
    assert!(!rewritten.contains("feature_number") && rewritten.contains("\"mission_number\": 7"), "{rewritten}");

    let err = meta.feature_created("cascade-org-inert-01M07E9P", 3).expect_err("no number prefix");
    assert!(err.contains("cascade-org-inert-01M07E9P") && err.contains("NNN-lowercase-words"), "{err}");
    let created = meta.feature_created("007-cascade-org-inert", 3).expect("valid");
    assert_eq!((created.feature_number.as_str(), created.wp_count, created.target_branch.as_str()), ("007", 3, "main"));
    let odd = FeatureMeta::parse(
        "m.json",
        "{\"feature_number\": \"007\", \"target_branch\": \"\", \"created_at\": \"2026-08-17\"}",
    )
    .expect("valid meta");
    let created = odd.feature_created("007-x", 0).expect("valid");
    assert_eq!((created.target_branch.as_str(), created.created_at), ("main", None), "nothing the schema refuses");
    let full = FeatureMeta::parse(
        "m.json",
        "{\"feature_number\": \"007\", \"created_at\": \"2026-08-17T10:04:23.281888+00:00\"}",
    )
    .expect("valid meta");
    assert!(full.feature_created("007-x", 0).expect("valid").created_at.is_some());

    let unnumbered =
        FeatureMeta::parse("m.json", &MISSION.replace("\"mission_number\": 7", "\"mission_number\": null"))
            .expect("null is allowed");
    assert_eq!(unnumbered.number(), None);
    assert!(
        unnumbered.feature_created("007-x", 1).expect_err("no number").contains("no feature_number nor mission_number")
    );
    assert!(unnumbered.to_json_pretty().contains("\"mission_number\": null"));
    let big = FeatureMeta::parse("m.json", "{\"mission_number\": 1234}").expect("valid meta");
    assert!(big.feature_created("123-x", 1).expect_err("four digits").contains("1234"));
    assert!(FeatureMeta::default().is_empty());
}

#[test]
fn numbered_slugs() {
    assert!(is_numbered_slug("028-cli-event-emission-sync"));
    for bad in ["028", "028-", "28-x", "028-Upper", "028_x", "cascade-org-inert-01M07E9P", "028-x.y"] {
        assert!(!is_numbered_slug(bad), "{bad}");
    }
}

#[test]
fn errors_name_the_file_and_field() {
    let meta = FeatureMeta::parse("kitty-specs/028/meta.json", "{\"slug\": \"s\", \"friendly_name\": \"f\"}")
        .expect("fields are optional");
    assert_eq!(meta.number(), None);
    let err = FeatureMeta::parse("m.json", "{\"feature_number\": 28}").expect_err("a number");
    assert_eq!(err.to_string(), "m.json: field `feature_number`: expected a string, found the number 28");
    let err = FeatureMeta::parse("m.json", "{\"feature_number\": \"28\"}").expect_err("two digits");
    assert_eq!(
        err.to_string(),
        "m.json: field `feature_number`: expected three digits as a string, like \"028\", found \"28\""
    );
    for (bad, found) in
        [("\"7\"", "the string \"7\""), ("-1", "the number -1"), ("2.5", "the number 2.5"), ("[]", "an array")]
    {
        let err = FeatureMeta::parse("m.json", &format!("{{\"mission_number\": {bad}}}")).expect_err(bad);
        assert_eq!(
            err.to_string(),
            format!("m.json: field `mission_number`: expected a whole number or null, found {found}")
        );
    }
    let err = FeatureMeta::parse("m.json", "{\"mission_slug\": 3}").expect_err("not a string");
    assert_eq!(err.to_string(), "m.json: field `mission_slug`: expected a string, found the number 3");
    let err = FeatureMeta::parse("m.json", "{\n  \"slug\": \"s\",\n}").expect_err("trailing comma");
    assert!(matches!(err, FeatureMetaError::BrokenJson { line: 3, .. }), "{err:?}");
    assert!(!err.to_string().contains(" at line "), "{err}");
    assert_eq!(
        FeatureMeta::parse("m.json", "[]").expect_err("array").to_string(),
        "m.json: expected a JSON object, found an array"
    );
}
