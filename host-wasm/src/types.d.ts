
// ---------------------------------------------------------------------------------------------
// Conventions
//
// - Domain objects (envelopes, payloads, boards, plans, answers) keep the wire's snake_case keys;
//   the binding's own arguments and contexts are camelCase (`nodeId`, `nowMs`, `entropyHex`).
// - Errors: a wrong input THROWS a JS `Error` (never a crash of the module) whose one-line message
//   starts with the field at fault, e.g. `payload.new_status: ...`, `payload.feature_slg: unknown key ...`,
//   `invalid WPCreated event: /payload/title: ...` (a rule of the schema) or `context.nodeId: ...`.
//   An event refused by the schema also carries the list of failed rules as `error.issues`.
//   `validateEvent` alone never throws: it returns the failed rules (`[]` when valid).
// - Time is Unix milliseconds; entropy is hex text (`entropyHex`, the core keeps the low 80 bits);
//   both are read from `Date.now()` and `crypto.getRandomValues` when left out.
// - Integers are JS numbers: values beyond Number.MAX_SAFE_INTEGER (2^53 - 1) are refused on input
//   and cannot be represented exactly on output. 64-bit random values (`Random`) may be a bigint or
//   hex text instead.
//
// Two parts: first the binding's own types (argument objects and contexts), written by hand; then,
// after the `@generated` line, the JSON types of the core (envelope, payloads, board, sync answers,
// plans, orchestrate), generated from its Rust types (host-wasm/types-gen).
// ---------------------------------------------------------------------------------------------

// The classes below have `[Symbol.dispose]()` (as `free()`, for `using`). Declared here so that the
// package type-checks with a `lib` older than esnext.disposable (e.g. es2022); the same declaration as
// TypeScript's own, so the two merge.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** Who emits: the machine (`nodeId`, see `nodeId()`), the team (`local` before login) and the project. */
export interface IdentityInput {
  nodeId: string;
  teamSlug: string;
  project?: ProjectIdentity | null;
}

/** When, with what entropy, and because of what an event is built. */
export interface BuildOptions {
  /** Unix milliseconds; default `Date.now()`. */
  nowMs?: number;
  /** Up to 32 hex digits (the low 80 bits make the ULID's random part); default 80 fresh random bits. */
  entropyHex?: string;
  /** The ULID of the event or action that caused this one. */
  causationId?: string | null;
}

/** Everything a free builder needs besides the payload. */
export interface BuildContext extends IdentityInput, BuildOptions {
  /**
   * A `LamportClock`, ticked in place when (and only when) the event is built, or the clock's current
   * value as a number (the event then carries `value + 1`).
   */
  lamportClock: LamportClock | number;
}

/** Any payload as envelopes carry it: defaults filled in, absent optionals left out. */
export type Payload = Envelope["payload"];
/** The envelope of one event type: `EnvelopeOf<"WPCreated">["payload"]` is a `WpCreatedPayload`. */
export type EnvelopeOf<T extends EventType> = Extract<Envelope, { event_type: T }>;

/** What builders throw: an `Error`; when the schema refused the event, also the failed rules. */
export interface BuildError extends Error {
  issues?: ValidationIssue[];
}

/** A 64-bit random value: a bigint, 1 to 16 hex digits, or an exact integer number. */
export type Random = bigint | string | number;

export interface AnswerContextInput {
  /** When the answer arrived; default `Date.now()`. */
  nowMs?: number;
  /** Failed sends in a row before this one; default 0. */
  failedSends?: number;
  /** For the backoff's jitter; default fresh random bits. */
  random?: Random;
  /** The batch was sent right after a token refresh; default false. */
  tokenJustRefreshed?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Workflow: what the host read from a feature folder, and the answers about it
// ---------------------------------------------------------------------------------------------

/** A feature folder as the host read it. */
export interface FeatureFiles {
  /** `NNN-slug`. */
  slug: string;
  /** The text of tasks.md. */
  tasksMd: string;
  /** What errors about tasks.md name as the file; default `tasks.md`. */
  tasksLabel?: string;
  /** The files of `tasks/`, each with the name errors give it. */
  wpFiles?: Array<{ fileName: string; text: string }>;
}

// Workflow commands as plans: what implement, merge, accept, move-task, mark-status, add-history and
// finalize-tasks will do, decided by the core exactly as the CLI decides it. A host carries a plan
// out in order: `changes.git_steps`, then `changes.edits` (committed with `changes.commit_message`,
// or left uncommitted when it is null), then it emits `changes.events`. Paths are relative to the
// repository's root, `/`-separated. Every plan function takes (feature, what is asked, facts).

/** A feature folder's texts (`kitty-specs/{slug}/`): `FeatureFiles` plus meta.json; tasks.md may be absent. */
export interface FeatureFolderFiles {
  /** The folder's name, one plain name (no `/`, `\`, `.` or `..`). */
  slug: string;
  /** How messages name the folder; default `kitty-specs/{slug}`. */
  dirLabel?: string | null;
  /** The text of meta.json, absent when the folder has none. */
  metaJson?: string | null;
  /** The text of tasks.md, absent when the folder has none. */
  tasksMd?: string | null;
  /** What messages name tasks.md; default `{dirLabel}/tasks.md`. */
  tasksLabel?: string | null;
  /** The `tasks/WP*.md` files; the last component of `fileName` is the file's name in `tasks/`. */
  wpFiles?: Array<{ fileName: string; text: string }>;
}
/** What the host gathered; each plan reads what it needs and throws when that is missing. Unknown keys are refused. */
export interface PlanFacts {
  /** implement, planMerge, planMergeMoves. */
  repository?: RepositoryFacts;
  /** Every plan that writes a file: implement, planMergeMoves, accept, move-task, add-history. */
  occasion?: Occasion;
  /**
   * implement and move-task: the WP file as the checked-out commit (HEAD) holds it. A lane on disk
   * that differs from it was written by a run that died before its commit: that move is committed now.
   */
  head_text?: string | null;
}
/** `agent tasks mark-status T001 ... --status done|pending [--agent A]`. */
export interface MarkStatusRequest {
  subtasks: string[];
  status: "done" | "pending";
  agent?: string | null;
}
/** `agent tasks add-history WP --note TEXT [--agent A]`. */
export interface AddHistoryRequest {
  wp: WpId;
  /** Not empty nor only whitespace. */
  note: string;
  agent?: string | null;
}
/** A WP branch read back by `parseBranchName`. */
export interface BranchParts {
  slug: string;
  wp: WpId;
}

// ---------------------------------------------------------------------------------------------
// orchestrate: `orchestrationStart` / `orchestrationHandle` take the run's state and give the next one
// with the actions to carry out, in order; the host keeps the state (writing it when an action says
// `save_state`), runs the actions and feeds each outcome back as an input. Pass fresh entropy on every
// call (the default): it seeds the ids of the events announced.
// ---------------------------------------------------------------------------------------------
export interface OrchestrationStep {
  /** Pass it back as it came (its layout is the core's). */
  state: OrchestrationState;
  actions: OrchestrationAction[];
  /** Call again with `{input: "tick"}` at this time (Unix ms) at the latest; null once the run is over. */
  nextWakeupMs: number | null;
}

// @generated from the Rust types (spec-kitty-wasm-types: SPEC_KITTY_BLESS_TYPES=1 to rewrite): do not edit below.

// ------------------------------------------------------------------------------------------------
// Events: the envelope is a union on `event_type`, whose `payload` follows from it
// ------------------------------------------------------------------------------------------------

export type AggregateType = "WorkPackage" | "Feature";

/** Any payload as the builders take it. */
export type AnyPayload = WpStatusChangedInput | WpCreatedInput | WpAssignedInput | FeatureCreatedInput | FeatureCompletedInput | HistoryAddedInput | ErrorLoggedInput | DependencyResolvedInput;

export type AssignmentPhase = "implementation" | "review";

/**
 * The clock as `clock.json` holds it: `{"value": 42, "node_id": "d036a097a835", "updated_at": "..."}`.
 */
export type ClockJson = { value: number, node_id: NodeId, updated_at: string, };

/** A DependencyResolved payload as `buildDependencyResolved` takes it. */
export type DependencyResolvedInput = DependencyResolvedPayload;

/**
 * One dependency of `wp_id` resolved: `dependency_wp_id` completed (or was skipped, or merged).
 * It is sent per dependency edge, when that dependency is resolved, also while other dependencies of
 * `wp_id` are still open: it says the edge no longer blocks, not that the WP may start (`orchestrate`
 * sends one for each dependent of a WP it finishes).
 */
export type DependencyResolvedPayload = { 
/**
 * The dependent work package, which the resolution unblocks.
 */
wp_id: WpId, dependency_wp_id: WpId, resolution_type: ResolutionType, 
/**
 * The feature of both WPs; optional (upstream's payload lacks it), so old events still read.
 */
feature_slug?: string | null, };

/**
 * An event as JSON carries it (`Serialize for Event` writes these keys, in the contract's order): a union
 * on `event_type`, so `if (e.event_type === "WPStatusChanged")` gives `e.payload` its type. Only for the
 * TypeScript declarations; a test checks each key the serialiser writes is declared here.
 */
export type Envelope = { 
/**
 * ULID: 26 Crockford base32 characters.
 */
event_id: string, 
/**
 * The WP id, the feature slug, or `"error"` for an ErrorLogged without WP.
 */
aggregate_id: string, aggregate_type: AggregateType, 
/**
 * 12 lowercase hex characters.
 */
node_id: string, lamport_clock: number, causation_id: string | null, 
/**
 * RFC 3339 UTC with milliseconds; informational only.
 */
timestamp: string, team_slug: string, project_uuid?: string, project_slug?: string, } & ({ "event_type": "WPStatusChanged", "payload": WpStatusChangedPayload } | { "event_type": "WPCreated", "payload": WpCreatedPayload } | { "event_type": "WPAssigned", "payload": WpAssignedPayload } | { "event_type": "FeatureCreated", "payload": FeatureCreatedPayload } | { "event_type": "FeatureCompleted", "payload": FeatureCompletedPayload } | { "event_type": "HistoryAdded", "payload": HistoryAddedPayload } | { "event_type": "ErrorLogged", "payload": ErrorLoggedPayload } | { "event_type": "DependencyResolved", "payload": DependencyResolvedPayload });

/** A ErrorLogged payload as `buildErrorLogged` takes it. */
export type ErrorLoggedInput = ErrorLoggedPayload;

export type ErrorLoggedPayload = { wp_id?: WpId | null, error_type: ErrorType, error_message: string, stack_trace?: string | null, agent_id?: string | null, };

export type ErrorType = "validation" | "runtime" | "network" | "auth" | "unknown";

export type EventType = "WPStatusChanged" | "WPCreated" | "WPAssigned" | "FeatureCreated" | "FeatureCompleted" | "HistoryAdded" | "ErrorLogged" | "DependencyResolved";

/** A FeatureCompleted payload as `buildFeatureCompleted` takes it. */
export type FeatureCompletedInput = FeatureCompletedPayload;

export type FeatureCompletedPayload = { feature_slug: string, total_wps: number, completed_at?: string | null, total_duration?: string | null, };

/** A FeatureCreated payload as `buildFeatureCreated` takes it. */
export type FeatureCreatedInput = FeatureCreatedPayload;

export type FeatureCreatedPayload = { feature_slug: string, feature_number: string, target_branch: string, wp_count: number, created_at?: string | null, };

/** A HistoryAdded payload as `buildHistoryAdded` takes it: "author" may be left out (the builder fills in the default). */
export type HistoryAddedInput = WithDefaults<HistoryAddedPayload, "author">;

export type HistoryAddedPayload = { wp_id: WpId, entry_type: HistoryEntryType, entry_content: string, author: string, };

export type HistoryEntryType = "note" | "review" | "error" | "comment";

/**
 * Who emits: the machine, the team (`local` before login) and the project.
 */
export type Identity = { node_id: NodeId, team_slug: string, project: ProjectIdentity | null, };

export type Lane = "planned" | "doing" | "for_review" | "done";

/**
 * A stable, anonymous machine identifier: the first 12 hex chars of sha256("{hostname}:{username}").
 */
export type NodeId = string;

/**
 * The project an event belongs to, from `.kittify/config.yaml`.
 */
export type ProjectIdentity = { uuid: string, slug: string, };

export type ResolutionType = "completed" | "skipped" | "merged";

/**
 * One failed rule: where in the event (a JSON pointer such as `/payload/title`) and what is wrong.
 */
export type ValidationIssue = { field: string, message: string, };

/** `T` with the keys `K` optional: a builder fills them in with their defaults. */
export type WithDefaults<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/** A WPAssigned payload as `buildWpAssigned` takes it: "retry_count" may be left out (the builder fills in the default). */
export type WpAssignedInput = WithDefaults<WpAssignedPayload, "retry_count">;

export type WpAssignedPayload = { wp_id: WpId, agent_id: string, phase: AssignmentPhase, retry_count: number, 
/**
 * The feature the WP belongs to; optional (upstream's payload lacks it), so old events still read.
 */
feature_slug?: string | null, };

/** A WPCreated payload as `buildWpCreated` takes it: "dependencies" may be left out (the builder fills in the default). */
export type WpCreatedInput = WithDefaults<WpCreatedPayload, "dependencies">;

export type WpCreatedPayload = { wp_id: WpId, title: string, dependencies: Array<WpId>, feature_slug: string, };

/**
 * A work package id, `WP` and two digits (`WP01`).
 */
export type WpId = string;

/** A WPStatusChanged payload as `buildWpStatusChanged` takes it: "changed_by" may be left out (the builder fills in the default). */
export type WpStatusChangedInput = WithDefaults<WpStatusChangedPayload, "changed_by">;

export type WpStatusChangedPayload = { wp_id: WpId, previous_status: Lane, new_status: Lane, 
/**
 * "user", or the agent that made the change.
 */
changed_by: string, feature_slug?: string | null, };

// ------------------------------------------------------------------------------------------------
// Board: events folded in total order (lamport_clock, node_id, event_id), deduplicated by event_id
// ------------------------------------------------------------------------------------------------

export type Board = { work_packages: { [key in WpId]: WpCard }, features: { [key in string]: FeatureCard }, 
/**
 * How many distinct events the board holds; duplicates are not counted.
 */
events_applied: number, 
/**
 * The highest Lamport value seen, for a host to `receive` into its clock.
 */
max_lamport_clock: number, };

export type FeatureCard = { feature_slug: string, target_branch: string | null, wp_count: number | null, completed: boolean, };

export type HistoryItem = { event_id: string, lamport_clock: number, node_id: string, event_type: string, summary: string, };

export type WpCard = { wp_id: WpId, title: string | null, feature_slug: string | null, lane: Lane, dependencies: Array<WpId>, assignee: string | null, history: Array<HistoryItem>, };

// ------------------------------------------------------------------------------------------------
// Sync decisions
// ------------------------------------------------------------------------------------------------

/**
 * Why batch sync stops until a new login.
 */
export type AuthStop = "login_required" | "other_team";

/**
 * An exponential backoff with **equal jitter**: for attempt `n` (0 for the first retry) the nominal delay is
 * `c = min(base_ms * 2^n, cap_ms)` and the delay is `c/2 + j` with `j` in `[0, c - c/2]` drawn from the
 * random value, so always within `[c/2, c]`.
 *
 * Why equal jitter rather than full jitter (`[0, c]`): a client never retries sooner than half the nominal
 * delay, so a dead server or proxy is not hammered by near-zero waits, while clients that lost the same
 * server at the same moment are still spread over half the window.
 *
 * The random value is used as the fraction `random / 2^64` of the jitter span (not `random % span`), so for
 * a fixed random value the delay is **non-decreasing in the attempt number**: both `c/2` and the scaled
 * jitter grow with `c`, and `c` grows with `n` until the cap.
 *
 * Any inputs are safe: `2^n` saturates for huge `n`, and the result is always within `[0, cap_ms]`.
 */
export type BackoffSchedule = { base_ms: number, cap_ms: number, };

/**
 * What came back for a sent batch, decoded from the HTTP exchange
 * (see [`BatchAnswer::from_http`]).
 */
export type BatchAnswer = { "kind": "results", results: Array<EventResult>, } | { "kind": "bad_request", error?: string | null, details: Array<BatchEventError>, } | { "kind": "unauthorized" } | { "kind": "forbidden" } | { "kind": "payload_too_large" } | { "kind": "too_many_requests", retry_after_ms: number | null, } | { "kind": "server_error", status: number, } | { "kind": "unexpected_response", status: number, message: string, } | { "kind": "network_error", message: string, };

/**
 * One entry of a 400 answer's `details`.
 */
export type BatchEventError = { event_id: string, error: string, };

/**
 * The reaction to one answer.
 */
export type BatchOutcome = { 
/**
 * Acknowledged (`success` or `duplicate`): delete from the queue.
 */
remove: Array<string>, 
/**
 * Failed, under [`MAX_RETRIES`]: keep, with `retry_count + 1`.
 */
retry: Array<EventFailure>, 
/**
 * Failed for the last time: take out of the queue and report with the reason.
 */
dead_letter: Array<EventFailure>, 
/**
 * Not answered for (or the whole request failed): keep as is.
 */
untouched: Array<string>, next: NextStep, };

/**
 * One batch to send: queue row ids, oldest first.
 */
export type BatchPlan = { ids: Array<number>, };

/**
 * An event that failed, and why.
 */
export type EventFailure = { event_id: string, reason: string, };

/**
 * One entry of a 200 answer's `results`.
 */
export type EventResult = { event_id: string, 
/**
 * `success`, `duplicate`, `rejected`, or from older servers `error`; anything may come.
 */
status: string, error?: string | null, error_message?: string | null, };

/**
 * What the sync loop does after this answer.
 */
export type NextStep = { "kind": "continue" } | { "kind": "refresh_token_then_retry" } | { "kind": "split_and_retry", max_events: number, } | { "kind": "wait_until", at_ms: number, } | { "kind": "back_off", attempt: number, at_ms: number, } | { "kind": "stop_auth", reason: AuthStop, };

/**
 * One queued event, as much as planning needs.
 */
export type QueuedItem = { 
/**
 * The queue row's id.
 */
id: number, 
/**
 * The size in bytes of its envelope JSON (the queue's `data` column).
 */
bytes: number, };

/**
 * One event of the sent batch, with its retry count as stored in the queue.
 */
export type SentEvent = { event_id: string, retry_count: number, };

// ------------------------------------------------------------------------------------------------
// Workflow: tasks.md and the workflow commands' plans
// ------------------------------------------------------------------------------------------------

export type AcceptPlan = { 
/**
 * The WPs accepted now (none: nothing changes).
 */
accepted: Array<WpId>, 
/**
 * Whether every WP of the feature is done once these are.
 */
feature_complete: boolean, changes: Changes, };

/**
 * `git merge --no-ff --no-edit -m message branch` into the target.
 */
export type BranchMerge = { wp: WpId, branch: string, message: string, };

/**
 * How an event is tied to the others of its command.
 */
export type Causation = "alone" | "shared";

/**
 * What a command changes, in the order the host carries it out.
 */
export type Changes = { 
/**
 * First, in order; a failure stops the command before any edit.
 */
git_steps: Array<GitStep>, 
/**
 * Then these files are rewritten, all or none.
 */
edits: Array<FileEdit>, 
/**
 * The commit of the edited files; `None` keeps them uncommitted (add-history, mark-status).
 */
commit_message: string | null, 
/**
 * Emitted once the edits are committed (or kept).
 */
events: Array<EventDraft>, };

/**
 * A WP whose dependencies differ between tasks.md and its file's frontmatter.
 */
export type DependencyMismatch = { wp: WpId, in_tasks_md: Array<WpId>, in_frontmatter: Array<WpId>, };

/**
 * An event a plan announces: the payload the core's factory turns into an envelope.
 */
export type EventDraft = { causation: Causation, } & ({ "event_type": "WPStatusChanged", "payload": WpStatusChangedPayload } | { "event_type": "WPCreated", "payload": WpCreatedPayload } | { "event_type": "WPAssigned", "payload": WpAssignedPayload } | { "event_type": "FeatureCreated", "payload": FeatureCreatedPayload } | { "event_type": "FeatureCompleted", "payload": FeatureCompletedPayload } | { "event_type": "HistoryAdded", "payload": HistoryAddedPayload } | { "event_type": "ErrorLogged", "payload": ErrorLoggedPayload } | { "event_type": "DependencyResolved", "payload": DependencyResolvedPayload });

/**
 * A feature folder checked as a whole: tasks.md with its WP files, their graph and their state.
 */
export type FeaturePlan = { slug: string, title: string | null, 
/**
 * Sorted by id: the WP files, and the WPs tasks.md defines without one.
 */
work_packages: Array<FeatureWpView>, 
/**
 * WPs tasks.md lists but no WP file declares yet.
 */
missing_wp_files: Array<WpId>, dependency_mismatches: Array<DependencyMismatch>, lanes: { [key in WpId]: Lane }, ready_to_start: Array<WpId>, complete: boolean, graph: GraphView, };

/**
 * One WP of a feature: its tasks.md section, its lane and file, and its merged dependencies.
 */
export type FeatureWpView = { id: WpId, title: string, priority: string | null, lane: Lane, 
/**
 * tasks.md's, then any more the WP file's frontmatter adds.
 */
dependencies: Array<WpId>, subtasks: Array<Subtask>, 
/**
 * The line of its tasks.md heading.
 */
line: number, 
/**
 * The WP file it was read from, if it has one yet.
 */
file_name: string | null, };

/**
 * A file a plan rewrites whole.
 */
export type FileEdit = { 
/**
 * Relative to the repository's root, `/`-separated.
 */
path: string, text: string, };

/**
 * finalize-tasks' decisions for one feature folder (serialised in a finalize-tasks plan).
 */
export type Finalization = { 
/**
 * One per readable WP file, in file-name order.
 */
work_packages: Array<FinalizedWp>, 
/**
 * Helpful remarks (without a `note:` prefix): nothing was refused because of them.
 */
notes: Array<string>, 
/**
 * Things skipped (without a `warning:` prefix): unreadable WP files.
 */
warnings: Array<string>, };

export type FinalizePlan = { finalization: Finalization, 
/**
 * Why no FeatureCreated is announced (a warning for the user), when none is.
 */
no_feature_created: string | null, changes: Changes, };

export type FinalizedWp = { id: WpId, 
/**
 * The name the host gave the file (usually its path).
 */
file_name: string, 
/**
 * The frontmatter's `title`, else tasks.md's heading, else the id.
 */
title: string, lane: Lane, 
/**
 * What tasks.md's rule gives: sorted, without duplicates.
 */
dependencies: Array<WpId>, 
/**
 * The file's new text, when its frontmatter had no `dependencies` key or different ones.
 */
new_text: string | null, };

/**
 * A git operation of a plan, carried out in order before the file edits. Its serde form is tagged
 * by `kind`: `{"kind": "add_worktree", "path": ..}`.
 */
export type GitStep = { "kind": "exclude_locally", pattern: string, } | { "kind": "add_worktree", path: string, branch: string, create_from: string | null, } | { "kind": "commit_paths", paths: Array<string>, message: string, };

/**
 * A dependency graph: each WP's dependencies and dependents, and an order that respects them.
 */
export type GraphView = { 
/**
 * Sorted by id.
 */
work_packages: Array<WpId>, dependencies: { [key in WpId]: Array<WpId> }, dependents: { [key in WpId]: Array<WpId> }, topological_order: Array<WpId>, };

/**
 * What implement will do.
 */
export type ImplementPlan = { wp: WpId, branch: string, 
/**
 * The worktree, relative to the root.
 */
worktree: string, start: Start, changes: Changes, 
/**
 * Said once the start is done (a failed start prints only its error).
 */
notes: Array<string>, };

export type MarkStatusPlan = { 
/**
 * `done` or `pending`.
 */
status: string, 
/**
 * One per distinct requested subtask, in request order, changed or not.
 */
subtasks: Array<SubtaskChange>, 
/**
 * How many of them change.
 */
changed: number, changes: Changes, };

/**
 * The WPs that move to for_review after the merges, and how.
 */
export type MergeMoves = { moved: Array<WpId>, changes: Changes, };

/**
 * The merges to carry out, in order.
 */
export type MergePlan = { target: string, merges: Array<BranchMerge>, };

/**
 * What was asked. In its serde form only `wp` and `to` are required.
 */
export type MoveRequest = { wp: WpId, to: Lane, 
/**
 * The agent making the move (recorded in the file and the event); the user when none.
 */
agent?: string | null, 
/**
 * The activity line's note; `Moved to {lane}` when none.
 */
note?: string | null, force?: boolean, };

export type MoveTaskPlan = { previous: Lane, 
/**
 * The same move was written by an earlier run that was killed before its commit: this one
 * only commits and announces it.
 */
completes_earlier_run: boolean, changes: Changes, };

/**
 * What the host reads from the world for every plan that writes: the time and who is at the keyboard.
 *
 * Facts and plans have serde forms (snake_case keys, as the wire's) so that a host without Rust
 * (the npm package, a Node tool previewing a command) hands the same facts in and gets the same
 * plan out; unknown keys in facts are refused rather than read as "no such fact".
 */
export type Occasion = { 
/**
 * Unix milliseconds now.
 */
now_ms: number, 
/**
 * The pid of the shell the command runs in, recorded in WP files as upstream does.
 */
shell_pid: string, };

export type PlannedWp = { id: WpId, title: string, 
/**
 * The `P0` of `(Priority: P0)` or `[Priority: P0]`, when the heading has one.
 */
priority: string | null, subtasks: Array<Subtask>, 
/**
 * What the compatibility rule reads for this WP: sorted, without duplicates.
 */
dependencies: Array<WpId>, 
/**
 * The line of the section heading.
 */
line: number, };

/**
 * The repository as the host found it before a plan. In its serde form every fact but the
 * current branch (which every plan that reads the repository needs) may be left out: an absent
 * one is empty (no branches, nothing merged, no worktrees).
 */
export type RepositoryFacts = { 
/**
 * How messages name the repository (its root's path).
 */
root_label?: string, 
/**
 * The branch checked out in the main working tree.
 */
current_branch: string, 
/**
 * Every local branch and its tip commit.
 */
branch_tips?: { [key in string]: string }, 
/**
 * The local branches every commit of which is in the feature's target branch (only merge
 * needs it; see [`FeatureFolder::target_branch`]).
 */
merged_into_target?: Array<string>, 
/**
 * The folders under `.worktrees/`, each with whether a worktree is checked out there (it has
 * a `.git`).
 */
worktrees?: { [key in string]: boolean }, };

/**
 * Tagged by `kind` in its serde form: `{"kind": "from", "base": "main"}`.
 */
export type Start = { "kind": "already_started" } | { "kind": "from", base: string, };

export type Subtask = { 
/**
 * Like `T008`.
 */
id: string, done: boolean, 
/**
 * Marked `[P]`: can proceed in parallel with its siblings.
 */
parallel: boolean, description: string, line: number, };

/**
 * What happened to one requested subtask.
 */
export type SubtaskChange = { subtask: string, wp: WpId, 
/**
 * Its state before; equal to the requested state when nothing had to change.
 */
was_done: boolean, };

/**
 * A parsed tasks.md.
 */
export type TasksPlan = { 
/**
 * The text of the first `# ` heading.
 */
title: string | null, 
/**
 * In file order.
 */
work_packages: Array<PlannedWp>, };

/**
 * A WP file: its typed frontmatter fields, its keys in file order, and its two parts as text.
 */
export type WpFileView = { work_package_id: WpId, title: string | null, lane: Lane, dependencies: Array<WpId>, subtasks: Array<string>, phase: string | null, agent: string | null, assignee: string | null, shell_pid: string | null, review_status: string | null, reviewed_by: string | null, base_branch: string | null, base_commit: string | null, created_at: string | null, keys: Array<string>, 
/**
 * The YAML text between the `---` lines.
 */
frontmatter: string, 
/**
 * The Markdown after the closing `---` line.
 */
body: string, };

// ------------------------------------------------------------------------------------------------
// orchestrate: the scheduler's sans-IO machine
// ------------------------------------------------------------------------------------------------

/**
 * The agents the user chose on the command line, overriding agents.yaml's defaults.
 */
export type AgentChoice = { implementation?: string | null, review?: string | null, };

/**
 * One entry of `agents:`.
 */
export type AgentEntry = { id: string, enabled: boolean, roles: Array<Phase>, 
/**
 * Upstream's priority; kept so its files read, not used (the `defaults` lists give the order).
 */
priority: number | null, max_concurrent: number, timeout_seconds: number, command: CommandTemplate | null, };

/**
 * An agent try the run asked for, then saw start.
 */
export type AgentRun = { phase: Phase, 
/**
 * Earlier tries of this WP and phase: the event's retry_count.
 */
attempt: number, agent: string, requested_at_ms: number, started_at_ms: number | null, 
/**
 * The process (and process group) the host started, so a resume can stop what a crash left.
 */
pid: number | null, 
/**
 * Relative to the repository root.
 */
log_file: string | null, deadline_ms: number | null, stop: StopReason | null, };

/**
 * The whole file, checked.
 */
export type AgentsConfig = { version: string, 
/**
 * `defaults.implementation`: the fallback order of implementers, when given.
 */
implementation: Array<string> | null, 
/**
 * `defaults.review`: the fallback order of reviewers, when given.
 */
review: Array<string> | null, 
/**
 * In file order.
 */
agents: Array<AgentEntry>, fallback_strategy: FallbackStrategy, max_retries: number, 
/**
 * `single_agent_mode.agent` when `single_agent_mode.enabled`.
 */
single_agent: string | null, global_concurrency: number, global_timeout_seconds: number, };

/**
 * An event the run announces, with the id chosen before it is emitted: replayed after a crash, it
 * carries the same id, and the queue and the hub keep only the first of an id.
 */
export type Announcement = { event_id: string, event: RunEvent, };

export type CommandTemplate = Array<string>;

/**
 * What to do when a try fails.
 */
export type FallbackStrategy = "next_in_list" | "same_agent" | "fail";

/**
 * A reviewer's rejection, carried to the next implementation try.
 */
export type Feedback = { reviewer: string, reason: string, 
/**
 * The review's log, relative to the repository root, where the whole review is.
 */
log_file: string | null, };

export type OrchestrationAction = { "action": "save_state" } | { "action": "move_lane", wp: WpId, from: Lane, to: Lane, agent: string | null, note: string, base_candidates: Array<WpId>, } | { "action": "start_agent", wp: WpId, phase: Phase, attempt: number, agent: string, timeout_ms: number, implementer: string | null, feedback: Feedback | null, } | { "action": "stop_agent", wp: WpId, phase: Phase, attempt: number, } | { "action": "emit", events: Array<Announcement>, } | { "action": "finish", status: RunStatus, };

export type OrchestrationInput = { "input": "resume", lanes: { [key in WpId]: Lane }, roster?: Roster | null, max_parallel?: number | null, orchestrator_pid?: number | null, } | { "input": "skip", wp: WpId, } | { "input": "abort" } | { "input": "lane_moved", wp: WpId, lane: Lane, } | { "input": "lane_move_failed", wp: WpId, error: string, } | { "input": "agent_started", wp: WpId, phase: Phase, attempt: number, pid?: number | null, log_file: string, } | { "input": "agent_start_failed", wp: WpId, phase: Phase, attempt: number, error: string, } | { "input": "agent_exited", wp: WpId, phase: Phase, attempt: number, exit_code?: number | null, last_line?: string | null, } | { "input": "agent_exited_in_worktree", wp: WpId, phase: Phase, attempt: number, exit_code?: number | null, last_line?: string | null, worktree: WorktreeFacts, } | { "input": "emitted", event_ids: Array<string>, } | { "input": "interrupt" } | { "input": "tick" };

export type OrchestrationState = { version: number, run_id: string, feature_slug: string, status: RunStatus, stop_reason: StopReason | null, started_at_ms: number, updated_at_ms: number, finished_at_ms: number | null, 
/**
 * When this invocation (the start, or the last resume) began: the global timeout counts from it.
 */
session_started_at_ms: number, 
/**
 * The process running it, when the host says.
 */
orchestrator_pid: number | null, max_parallel: number, 
/**
 * The agents the user chose on the command line; a resume rebuilds the roster with them.
 */
agent_choice: AgentChoice, roster: Roster, work_packages: { [key in WpId]: WpRun }, 
/**
 * Announced but not yet confirmed emitted; replayed (same ids) by a resume.
 */
outbox: Array<Announcement>, feature_completed_announced: boolean, };

/**
 * What an agent does to a WP: implement it, or review someone else's implementation.
 */
export type Phase = "implementation" | "review";

export type PhaseCounts = { 
/**
 * Tries asked for (the next try's retry_count).
 */
tries: number, 
/**
 * Failed tries since the run (or its last resume of a failed WP) began: limited by max_retries.
 */
failures: number, };

/**
 * A WP of the feature as the host read it.
 */
export type PlannedWork = { wp: WpId, dependencies: Array<WpId>, lane: Lane, };

export type Roster = { agents: Array<RosterAgent>, 
/**
 * Ids of `agents`, in fallback order.
 */
implementation: Array<string>, review: Array<string>, fallback: FallbackStrategy, max_retries: number, global_concurrency: number, global_timeout_ms: number, };

/**
 * An agent that takes part in the run.
 */
export type RosterAgent = { 
/**
 * As agents.yaml names it; this goes into events and logs.
 */
id: string, 
/**
 * Aliases resolved ([`agent_identity`]): what "the same agent" means for reviews.
 */
identity: string, max_concurrent: number, timeout_ms: number, command: CommandTemplate, };

export type RunEvent = { "type": "assigned", wp: WpId, agent: string, phase: Phase, retry_count: number, } | { "type": "dependency_resolved", wp: WpId, dependency: WpId, skipped: boolean, } | { "type": "feature_completed", total_wps: number, completed_at_ms: number, duration_ms: number, } | { "type": "error", wp: WpId, agent: string | null, message: string, };

export type RunStatus = "running" | "stopping" | "completed" | "failed" | "incomplete" | "stopped" | "aborted";

/**
 * What a new run needs.
 */
export type StartRun = { run_id: string, feature_slug: string, work_packages: Array<PlannedWork>, roster: Roster, 
/**
 * The choices the roster was made with (`--impl-agent`, `--review-agent`), kept for resumes.
 */
agent_choice: AgentChoice, 
/**
 * WPs in progress at once; default the roster's global_concurrency.
 */
max_parallel?: number | null, orchestrator_pid?: number | null, };

/**
 * Why the run asked an agent to stop.
 */
export type StopReason = "timeout" | "interrupted" | "global_timeout";

export type TryRecord = { phase: Phase, attempt: number, agent: string, started_at_ms: number | null, ended_at_ms: number, log_file: string | null, } & ({ "outcome": "succeeded" } | { "outcome": "approved", note: string | null, } | { "outcome": "rejected", reason: string, } | { "outcome": "failed", reason: string, } | { "outcome": "interrupted" });

/**
 * The worktree as the host found it when the agent's process ended.
 */
export type WorktreeFacts = { 
/**
 * Whether the worktree is still there (an agent may remove it; the work on its branch stays).
 */
present: boolean, 
/**
 * The branch checked out, `None` on a detached HEAD.
 */
branch: string | null, 
/**
 * Tracked files changed and not committed (staged or not), as git names them.
 */
uncommitted?: Array<string>, };

export type WpRun = { dependencies: Array<WpId>, 
/**
 * The lane as the run last saw it move.
 */
lane: Lane, status: WpStatus, step: WpStep | null, implementation: PhaseCounts, review: PhaseCounts, rejections: number, 
/**
 * The agent whose implementation is (or was last) under review: never its reviewer.
 */
implemented_by: string | null, 
/**
 * The last rejection, for the next implementation's prompt.
 */
feedback: Feedback | null, last_error: string | null, tries: Array<TryRecord>, started_at_ms: number | null, completed_at_ms: number | null, };

export type WpStatus = "pending" | "in_progress" | "done" | "failed" | "skipped";

/**
 * What a WP waits for while it is in progress.
 */
export type WpStep = { "kind": "move_lane", from: Lane, to: Lane, agent: string | null, note: string, } | { "kind": "await_agent", phase: Phase, } | { "kind": "agent" } & AgentRun;
