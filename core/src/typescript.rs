//! TypeScript declarations of the JSON the core reads and writes (feature `ts`, never in a WASM build).
//!
//! The npm package's `host-wasm/src/types.d.ts` ends with [`declarations`]: each root type below and
//! every type it refers to, declared once, from the `ts_rs::TS` derives next to the serde ones, so the
//! declarations follow the Rust types. `tests/tests/typescript_types.rs` fails when the committed
//! file differs from what this returns (and rewrites it with `SPEC_KITTY_BLESS_TYPES=1`); `tsc` then
//! checks the package's examples against it (`host-wasm/test/types.test.cjs`).
//!
//! Integers are JS numbers (`u64` too): the bindings refuse values past `Number.MAX_SAFE_INTEGER`.

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap, HashSet};
use ts_rs::{Config, TS, TypeVisitor};

/// The declarations of every JSON type the npm package hands over or takes, one section per area,
/// each type in the first section that needs it, sorted by name within a section.
pub fn declarations() -> String {
    use crate::{board, clock, events, orchestrate, sync, validation, workflow};
    let mut out = Declarations::new();
    out.section("Events: the envelope is a union on `event_type`, whose `payload` follows from it");
    out.declare::<events::EnvelopeDeclaration>();
    out.declare::<events::EventType>();
    out.builder_inputs();
    out.declare::<events::Identity>();
    out.declare::<validation::ValidationIssue>();
    out.declare::<clock::ClockFile>();
    out.section("Board: events folded in total order (lamport_clock, node_id, event_id), deduplicated by event_id");
    out.declare::<board::Board>();
    out.section("Sync decisions");
    out.declare::<sync::batch::QueuedItem>();
    out.declare::<sync::batch::BatchPlan>();
    out.declare::<sync::backoff::BackoffSchedule>();
    out.declare::<sync::answer::BatchAnswer>();
    out.declare::<sync::answer::SentEvent>();
    out.declare::<sync::answer::BatchOutcome>();
    out.section("Workflow: tasks.md and the workflow commands' plans");
    out.declare::<workflow::tasks_md::TasksPlan>();
    out.declare::<workflow::views::WpFileView>();
    out.declare::<workflow::views::FeaturePlanView>();
    out.declare::<workflow::plans::RepositoryFacts>();
    out.declare::<workflow::plans::Occasion>();
    out.declare::<workflow::plans::implement::ImplementPlan>();
    out.declare::<workflow::plans::merge::MergePlan>();
    out.declare::<workflow::plans::merge::MergeMoves>();
    out.declare::<workflow::plans::accept::AcceptPlan>();
    out.declare::<workflow::plans::move_task::MoveRequest>();
    out.declare::<workflow::plans::move_task::MoveTaskPlan>();
    out.declare::<workflow::plans::mark_status::MarkStatusPlan>();
    out.declare::<workflow::plans::finalize_tasks::FinalizePlan>();
    out.section("orchestrate: the scheduler's sans-IO machine");
    out.declare::<orchestrate::config::AgentsConfig>();
    out.declare::<orchestrate::roster::Roster>();
    out.declare::<orchestrate::machine::StartRun>();
    out.declare::<orchestrate::state::OrchestrationState>();
    out.declare::<orchestrate::machine::Input>();
    out.declare::<orchestrate::machine::Action>();
    out.finish()
}

/// Collects declarations, each type once, in the section that first needs it.
struct Declarations {
    config: Config,
    seen: HashSet<TypeId>,
    /// Which Rust type took each TypeScript name: two must not share one.
    names: HashMap<String, &'static str>,
    text: String,
    /// The current section's declarations by name, written out sorted when the section ends.
    pending: BTreeMap<String, String>,
}

impl Declarations {
    fn new() -> Declarations {
        Declarations {
            config: Config::new().with_large_int("number"),
            seen: HashSet::new(),
            names: HashMap::new(),
            text: String::new(),
            pending: BTreeMap::new(),
        }
    }

    fn section(&mut self, title: &str) {
        self.flush();
        let rule = "-".repeat(96);
        self.text.push_str(&format!("\n// {rule}\n// {title}\n// {rule}\n"));
    }

    fn flush(&mut self) {
        for declaration in std::mem::take(&mut self.pending).into_values() {
            self.text.push('\n');
            self.text.push_str(&declaration);
        }
    }

    fn finish(mut self) -> String {
        self.flush();
        self.text
    }

    /// `T`'s declaration, then those of the types it refers to that are not declared yet.
    fn declare<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives and containers (`string`, `Array<T>`) have no declaration of their own.
        if T::output_path().is_none() || !self.seen.insert(TypeId::of::<T::WithoutGenerics>()) {
            return;
        }
        let name = T::ident(&self.config);
        let rust_name = std::any::type_name::<T>();
        if let Some(other) = self.names.insert(name.clone(), rust_name) {
            panic!("{rust_name} and {other} are both `{name}` in TypeScript: rename one with #[ts(rename = \"..\")]");
        }
        let mut declaration = T::docs().unwrap_or_default();
        declaration.push_str("export ");
        declaration.push_str(&T::decl(&self.config));
        declaration.push('\n');
        self.pending.insert(name, declaration);
        T::visit_dependencies(self);
    }
}
/// The keys a builder fills in when a payload leaves them out: the payload's properties with a
/// `default` in `schemas/events.schema.json` (the serde defaults of the core's payloads, which the
/// builders' events must satisfy), in the schema's key order.
fn defaulted_keys(event_type: crate::events::EventType) -> Vec<String> {
    let schema: serde_json::Value = serde_json::from_str(crate::validation::EVENTS_SCHEMA).unwrap_or_default();
    let payload = &schema["definitions"][format!("{}Payload", event_type.as_str())]["properties"];
    let properties = payload.as_object().into_iter().flatten();
    properties.filter(|(_, rules)| rules.get("default").is_some()).map(|(key, _)| key.clone()).collect()
}

impl Declarations {
    /// The payloads as builders take them, named as `for_each_event_type!` names them, and their union.
    fn builder_inputs(&mut self) {
        macro_rules! inputs {
            ($($(#[doc = $doc:literal])* $event_type:ident($payload:ident) $builder:ident $input:literal;)*) => {
                [$((crate::events::EventType::$event_type, stringify!($builder), $input, <crate::events::$payload as TS>::ident as fn(&Config) -> String)),*]
            };
        }
        let inputs = crate::for_each_event_type!(inputs);
        let mut union = Vec::new();
        for (event_type, builder, input, payload) in inputs {
            let payload = payload(&self.config);
            let keys = defaulted_keys(event_type);
            let declaration = if keys.is_empty() {
                format!(
                    "/** A {} payload as `{}` takes it. */\nexport type {input} = {payload};\n",
                    event_type.as_str(),
                    builder
                )
            } else {
                let keys: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
                format!(
                    "/** A {} payload as `{}` takes it: {} may be left out (the builder fills in the default). */\nexport type {input} = WithDefaults<{payload}, {}>;\n",
                    event_type.as_str(),
                    builder,
                    keys.join(", "),
                    keys.join(" | ")
                )
            };
            self.pending.insert(input.to_string(), declaration);
            union.push(input);
        }
        self.pending.insert(
            "WithDefaults".to_string(),
            "/** `T` with the keys `K` optional: a builder fills them in with their defaults. */\nexport type WithDefaults<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;\n".to_string(),
        );
        self.pending.insert(
            "AnyPayload".to_string(),
            format!("/** Any payload as the builders take it. */\nexport type AnyPayload = {};\n", union.join(" | ")),
        );
    }
}

impl TypeVisitor for Declarations {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        self.declare::<T>();
    }
}
