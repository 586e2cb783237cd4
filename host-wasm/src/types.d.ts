
// ---------------------------------------------------------------------------------------------
// Conventions
//
// - Domain objects (envelopes, payloads, boards, plans, answers) keep the wire's snake_case keys;
//   the binding's own arguments and contexts are camelCase (`nodeId`, `nowMs`, `entropyHex`).
// - Errors: a wrong input THROWS a JS `Error` (never a crash of the module) whose one-line message
//   starts with the field at fault, e.g.
//     `payload.new_status: unknown variant `review`, expected one of ...`
//     `invalid WPCreated event: /payload/title: "" is shorter than 1 character`
//     `context.nodeId: malformed node id `XYZ`: expected 12 lowercase hex characters`
//   An event refused by the schema also carries the list of failed rules as `error.issues`.
//   `validateEvent` alone never throws: it returns the failed rules (`[]` when valid).
// - Time is Unix milliseconds; entropy is hex text (`entropyHex`, the core keeps the low 80 bits);
//   both are read from `Date.now()` and `crypto.getRandomValues` when left out.
// - Integers are JS numbers: values beyond Number.MAX_SAFE_INTEGER (2^53 - 1) are refused on input
//   and cannot be represented exactly on output. 64-bit random values (`Random`) may be a bigint or
//   hex text instead.
// ---------------------------------------------------------------------------------------------

/** `WP` followed by two digits, like `WP01`. */
export type WpId = string;
export type Lane = "planned" | "doing" | "for_review" | "done";
export type EventType =
  | "WPStatusChanged"
  | "WPCreated"
  | "WPAssigned"
  | "FeatureCreated"
  | "FeatureCompleted"
  | "HistoryAdded"
  | "ErrorLogged"
  | "DependencyResolved";
export type AggregateType = "WorkPackage" | "Feature";

/** The project an event belongs to, from `.kittify/config.yaml`. */
export interface ProjectIdentity {
  uuid: string;
  slug: string;
}

/** Who emits: the machine (`nodeId`, see `nodeId()`), the team (`local` before login) and the project. */
export interface IdentityInput {
  nodeId: string;
  teamSlug: string;
  project?: ProjectIdentity | null;
}

/** The identity as the core holds it. */
export interface Identity {
  node_id: string;
  team_slug: string;
  project: ProjectIdentity | null;
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

// Payloads as builders take them: keys with a default may be left out.
export interface WpStatusChangedInput {
  wp_id: WpId;
  previous_status: Lane;
  new_status: Lane;
  /** Default `"user"`; or the agent that made the change. */
  changed_by?: string;
  feature_slug?: string;
}
export interface WpCreatedInput {
  wp_id: WpId;
  title: string;
  /** Default `[]`. */
  dependencies?: WpId[];
  feature_slug: string;
}
export type AssignmentPhase = "implementation" | "review";
export interface WpAssignedInput {
  wp_id: WpId;
  agent_id: string;
  phase: AssignmentPhase;
  /** Default 0. */
  retry_count?: number;
  /** The feature of the WP; left out when not given (upstream's payload lacks it). */
  feature_slug?: string;
}
export interface FeatureCreatedInput {
  /** `NNN-slug`, like `028-cli-event-emission-sync`. */
  feature_slug: string;
  /** Three digits, as a string: `"028"`. */
  feature_number: string;
  target_branch: string;
  wp_count: number;
  created_at?: string;
}
export interface FeatureCompletedInput {
  feature_slug: string;
  total_wps: number;
  completed_at?: string;
  /** Like `"123.4s"`. */
  total_duration?: string;
}
export type HistoryEntryType = "note" | "review" | "error" | "comment";
export interface HistoryAddedInput {
  wp_id: WpId;
  entry_type: HistoryEntryType;
  entry_content: string;
  /** Default `"user"`. */
  author?: string;
}
export type ErrorType = "validation" | "runtime" | "network" | "auth" | "unknown";
export interface ErrorLoggedInput {
  wp_id?: WpId;
  error_type: ErrorType;
  error_message: string;
  stack_trace?: string;
  agent_id?: string;
}
export type ResolutionType = "completed" | "skipped" | "merged";
export interface DependencyResolvedInput {
  /** The dependent work package, which the resolution unblocks. */
  wp_id: WpId;
  dependency_wp_id: WpId;
  resolution_type: ResolutionType;
  /** The feature of both WPs; left out when not given (upstream's payload lacks it). */
  feature_slug?: string;
}
export type AnyPayload =
  | WpStatusChangedInput
  | WpCreatedInput
  | WpAssignedInput
  | FeatureCreatedInput
  | FeatureCompletedInput
  | HistoryAddedInput
  | ErrorLoggedInput
  | DependencyResolvedInput;

// Payloads as envelopes carry them: defaults filled in, absent optionals left out.
export type WpStatusChangedPayload = WpStatusChangedInput & { changed_by: string };
export type WpCreatedPayload = WpCreatedInput & { dependencies: WpId[] };
export type WpAssignedPayload = WpAssignedInput & { retry_count: number };
export type FeatureCreatedPayload = FeatureCreatedInput;
export type FeatureCompletedPayload = FeatureCompletedInput;
export type HistoryAddedPayload = HistoryAddedInput & { author: string };
export type ErrorLoggedPayload = ErrorLoggedInput;
export type DependencyResolvedPayload = DependencyResolvedInput;
export type Payload =
  | WpStatusChangedPayload
  | WpCreatedPayload
  | WpAssignedPayload
  | FeatureCreatedPayload
  | FeatureCompletedPayload
  | HistoryAddedPayload
  | ErrorLoggedPayload
  | DependencyResolvedPayload;

/** An event, with its keys in the contract's order (JSON.stringify writes them so). */
export interface Envelope<P extends Payload = Payload> {
  /** ULID: 26 Crockford base32 characters. */
  event_id: string;
  event_type: EventType;
  /** The WP id, the feature slug, or `"error"` for an ErrorLogged without WP. */
  aggregate_id: string;
  aggregate_type: AggregateType;
  payload: P;
  /** 12 lowercase hex characters. */
  node_id: string;
  lamport_clock: number;
  causation_id: string | null;
  /** RFC 3339 UTC with milliseconds; informational only. */
  timestamp: string;
  team_slug: string;
  project_uuid?: string;
  project_slug?: string;
}

/** One failed schema rule: where (a JSON pointer such as `/payload/title`) and what is wrong. */
export interface ValidationIssue {
  field: string;
  message: string;
}

/** What builders throw: an `Error`; when the schema refused the event, also the failed rules. */
export interface BuildError extends Error {
  issues?: ValidationIssue[];
}

/** `clock.json`. */
export interface ClockJson {
  value: number;
  node_id: string;
  /** RFC 3339 UTC to the second. */
  updated_at: string;
}

// ---------------------------------------------------------------------------------------------
// Board
// ---------------------------------------------------------------------------------------------

export interface HistoryItem {
  event_id: string;
  lamport_clock: number;
  node_id: string;
  event_type: EventType;
  summary: string;
}
export interface WpCard {
  wp_id: WpId;
  title: string | null;
  feature_slug: string | null;
  lane: Lane;
  dependencies: WpId[];
  assignee: string | null;
  history: HistoryItem[];
}
export interface FeatureCard {
  feature_slug: string;
  target_branch: string | null;
  wp_count: number | null;
  completed: boolean;
}
/** Events folded in total order (lamport_clock, node_id, event_id), deduplicated by event_id. */
export interface Board {
  work_packages: Record<WpId, WpCard>;
  features: Record<string, FeatureCard>;
  /** Distinct events applied. */
  events_applied: number;
  /** The highest Lamport value seen: `receive` it into the local clock. */
  max_lamport_clock: number;
}

// ---------------------------------------------------------------------------------------------
// Sync decisions
// ---------------------------------------------------------------------------------------------

/** A 64-bit random value: a bigint, 1 to 16 hex digits, or an exact integer number. */
export type Random = bigint | string | number;

/** One queued event, as much as planning needs: its queue row id and its envelope's size in bytes. */
export interface QueuedItem {
  id: number;
  bytes: number;
}
/** One batch to send: queue row ids, oldest first. */
export interface BatchPlan {
  ids: number[];
}
export interface BackoffSchedule {
  base_ms: number;
  cap_ms: number;
}
export interface EventResult {
  event_id: string;
  status: string;
  error?: string;
  error_message?: string;
}
export interface BatchEventError {
  event_id: string;
  error: string;
}
/** The server's answer to a batch, as `readBatchAnswer` decodes it from the HTTP exchange. */
export type BatchAnswer =
  | { kind: "results"; results: EventResult[] }
  | { kind: "bad_request"; error?: string; details: BatchEventError[] }
  | { kind: "unauthorized" }
  | { kind: "forbidden" }
  | { kind: "payload_too_large" }
  | { kind: "too_many_requests"; retry_after_ms: number | null }
  | { kind: "server_error"; status: number }
  | { kind: "unexpected_response"; status: number; message: string }
  | { kind: "network_error"; message: string };
/** One event of the sent batch, with its retry count as the queue stores it. */
export interface SentEvent {
  event_id: string;
  retry_count: number;
}
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
export interface EventFailure {
  event_id: string;
  reason: string;
}
export type NextStep =
  | { kind: "continue" }
  | { kind: "refresh_token_then_retry" }
  | { kind: "split_and_retry"; max_events: number }
  | { kind: "wait_until"; at_ms: number }
  | { kind: "back_off"; attempt: number; at_ms: number }
  | { kind: "stop_auth"; reason: "login_required" | "other_team" };
/** Every sent event lands in exactly one of remove, retry, dead_letter and untouched. */
export interface BatchOutcome {
  remove: string[];
  retry: EventFailure[];
  dead_letter: EventFailure[];
  untouched: string[];
  next: NextStep;
}

// ---------------------------------------------------------------------------------------------
// Workflow: tasks.md, WP files, feature folders, the dependency graph
// ---------------------------------------------------------------------------------------------

export interface Subtask {
  /** Like `T008`. */
  id: string;
  done: boolean;
  /** Marked `[P]`: can proceed in parallel with its siblings. */
  parallel: boolean;
  description: string;
  line: number;
}
/** A `## Work Package WP02: Title (Priority: P0)` section of tasks.md. */
export interface PlannedWp {
  id: WpId;
  title: string;
  priority: string | null;
  subtasks: Subtask[];
  /** Without duplicates, in order of first appearance. */
  dependencies: WpId[];
  /** The line of the section heading. */
  line: number;
}
export interface TasksPlan {
  /** The text of the first `# ` heading. */
  title: string | null;
  /** In file order. */
  work_packages: PlannedWp[];
}
/** A WP file: typed frontmatter fields (scalars as text, `null` when missing or empty), keys in file order, and its two parts. */
export interface WpFileView {
  work_package_id: WpId;
  title: string | null;
  /** `planned` when the file has no `lane`. */
  lane: Lane;
  dependencies: WpId[];
  subtasks: string[];
  phase: string | null;
  agent: string | null;
  assignee: string | null;
  shell_pid: string | null;
  review_status: string | null;
  reviewed_by: string | null;
  base_branch: string | null;
  base_commit: string | null;
  created_at: string | null;
  keys: string[];
  /** The YAML text between the `---` lines. */
  frontmatter: string;
  /** The Markdown after the closing `---` line. */
  body: string;
}
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
export interface GraphView {
  /** Sorted by id. */
  work_packages: WpId[];
  dependencies: Record<WpId, WpId[]>;
  /** Sorted by id. */
  dependents: Record<WpId, WpId[]>;
  /** Every WP after its dependencies; lower ids first among WPs free at the same time. */
  topological_order: WpId[];
}
export interface FeatureWpView {
  id: WpId;
  title: string;
  priority: string | null;
  /** From its WP file; `planned` without one. */
  lane: Lane;
  /** tasks.md's, then any more the WP file's frontmatter adds. */
  dependencies: WpId[];
  subtasks: Subtask[];
  /** The line of its tasks.md heading. */
  line: number;
  file_name: string | null;
}
/** A WP whose dependencies differ between tasks.md and its file's frontmatter. */
export interface DependencyMismatch {
  wp: WpId;
  in_tasks_md: WpId[];
  in_frontmatter: WpId[];
}
export interface FeaturePlan {
  slug: string;
  title: string | null;
  /** Sorted by id: the WP files, and the WPs tasks.md defines without one. */
  work_packages: FeatureWpView[];
  /** WPs tasks.md lists but no WP file declares yet (not an error). */
  missing_wp_files: WpId[];
  dependency_mismatches: DependencyMismatch[];
  lanes: Record<WpId, Lane>;
  /** Planned WPs whose dependencies are all done. */
  ready_to_start: WpId[];
  /** At least one WP, and all are done. */
  complete: boolean;
  graph: GraphView;
}

// ---------------------------------------------------------------------------------------------
// Workflow commands as plans: what implement, merge, accept, move-task, mark-status, add-history and
// finalize-tasks will do, decided by the core exactly as the CLI decides it. A host carries a plan
// out in order: `changes.git_steps`, then `changes.edits` (committed with `changes.commit_message`,
// or left uncommitted when it is null), then it emits `changes.events`. Paths are relative to the
// repository's root, `/`-separated. Every plan function takes (feature, what is asked, facts).
// ---------------------------------------------------------------------------------------------

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
/** The repository as the host found it; every key but `current_branch` may be left out (empty). Unknown keys are refused. */
export interface RepositoryFacts {
  /** How messages name the repository (its root's path). */
  root_label?: string;
  /** The branch checked out in the main working tree. */
  current_branch: string;
  /** Every local branch and its tip commit. */
  branch_tips?: Record<string, string>;
  /** The local branches every commit of which is in the feature's target branch (merge). */
  merged_into_target?: string[];
  /** The folders under `.worktrees/`, each with whether a worktree is checked out there (it has a `.git`). */
  worktrees?: Record<string, boolean>;
}
/** The time and the shell: recorded in WP files' activity lines and `shell_pid`. */
export interface Occasion {
  /** Unix milliseconds. */
  now_ms: number;
  shell_pid: string;
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
/** `agent tasks move-task WP --to LANE [--agent A] [--note N] [--force]`. */
export interface MoveRequest {
  wp: WpId;
  to: Lane;
  agent?: string | null;
  /** The activity line's note; default `Moved to {lane}`. */
  note?: string | null;
  /** Any move, not only those the workflow allows. */
  force?: boolean;
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
/** A file the plan rewrites whole. */
export interface FileEdit {
  path: string;
  text: string;
}
export type GitStep =
  /** List `pattern` in the repository's own `.git/info/exclude`. */
  | { kind: "exclude_locally"; pattern: string }
  /** `git worktree add path branch`, creating the branch at `create_from` when it is not null. */
  | { kind: "add_worktree"; path: string; branch: string; create_from: string | null }
  /** Commit files already changed on disk (finishing an interrupted run). */
  | { kind: "commit_paths"; paths: string[]; message: string };
/** An event to emit: build it with `buildEvent(event_type, context, payload)`. */
export interface EventDraft {
  event_type: EventType;
  payload: Payload;
  /** `shared`: one causation id for all the plan's shared events (one user action). */
  causation: "alone" | "shared";
}
export interface Changes {
  git_steps: GitStep[];
  edits: FileEdit[];
  /** null: the edits stay uncommitted (add-history, mark-status). */
  commit_message: string | null;
  events: EventDraft[];
}
export type Start = { kind: "already_started" } | { kind: "from"; base: string };
export interface ImplementPlan {
  wp: WpId;
  branch: string;
  /** Relative to the root: `.worktrees/{branch}`. */
  worktree: string;
  start: Start;
  changes: Changes;
  /** Said once the start is done. */
  notes: string[];
}
/** `git merge --no-ff --no-edit -m message branch` into the target. */
export interface BranchMerge {
  wp: WpId;
  branch: string;
  message: string;
}
export interface MergePlan {
  target: string;
  /** In dependency order, each branch once. */
  merges: BranchMerge[];
}
export interface MergeMoves {
  moved: WpId[];
  changes: Changes;
}
export interface AcceptPlan {
  accepted: WpId[];
  /** Every WP done once these are: then the events end with FeatureCompleted. */
  feature_complete: boolean;
  changes: Changes;
}
export interface MoveTaskPlan {
  previous: Lane;
  /** The same move was written by an earlier run killed before its commit: only committed and announced. */
  completes_earlier_run: boolean;
  changes: Changes;
}
export interface SubtaskChange {
  subtask: string;
  wp: WpId;
  /** Its state before; equal to the requested one when nothing had to change. */
  was_done: boolean;
}
export interface MarkStatusPlan {
  status: "done" | "pending";
  /** One per distinct requested subtask, in request order. */
  subtasks: SubtaskChange[];
  changed: number;
  changes: Changes;
}
export interface FinalizedWp {
  id: WpId;
  file_name: string;
  title: string;
  lane: Lane;
  dependencies: WpId[];
  /** The file's new text when its dependencies change. */
  new_text: string | null;
}
export interface Finalization {
  work_packages: FinalizedWp[];
  notes: string[];
  warnings: string[];
}
export interface FinalizePlan {
  finalization: Finalization;
  /** Why no FeatureCreated is announced, when none is (a warning for the user). */
  no_feature_created: string | null;
  changes: Changes;
}
/** A WP branch read back by `parseBranchName`. */
export interface BranchParts {
  slug: string;
  wp: WpId;
}

// ---------------------------------------------------------------------------------------------
// orchestrate: the scheduler, a sans-IO machine. `orchestrationStart` / `orchestrationHandle` take the
// run's state and give the next one with the actions to carry out, in order; the host keeps the state
// (writing it when an action says `save_state`), runs the actions and feeds each outcome back as an
// input. Pass fresh entropy on every call (the default): it seeds the ids of the events announced.
// ---------------------------------------------------------------------------------------------
export type FallbackStrategy = "next_in_list" | "same_agent" | "fail";
/** agents.yaml, checked (`parseAgentsConfig`). */
export interface AgentsConfig {
  version: string;
  implementation: string[] | null;
  review: string[] | null;
  agents: {
    id: string;
    enabled: boolean;
    roles: AssignmentPhase[];
    priority: number | null;
    max_concurrent: number;
    timeout_seconds: number;
    /** The command line's words, with `{prompt_file}`-style placeholders. */
    command: string[] | null;
  }[];
  fallback_strategy: FallbackStrategy;
  max_retries: number;
  single_agent: string | null;
  global_concurrency: number;
  global_timeout_seconds: number;
}
/** `--impl-agent` / `--review-agent`. */
export interface AgentChoice {
  implementation?: string | null;
  review?: string | null;
}
/** The agents of a run, in fallback order (`agentRoster`). */
export interface Roster {
  agents: { id: string; identity: string; max_concurrent: number; timeout_ms: number; command: string[] }[];
  implementation: string[];
  review: string[];
  fallback: FallbackStrategy;
  max_retries: number;
  global_concurrency: number;
  global_timeout_ms: number;
}
export interface PlannedWork {
  wp: WpId;
  dependencies: WpId[];
  lane: Lane;
}
export interface StartRun {
  run_id: string;
  feature_slug: string;
  work_packages: PlannedWork[];
  roster: Roster;
  agent_choice: AgentChoice;
  /** WPs in progress at once; default the roster's global_concurrency. */
  max_parallel?: number | null;
  orchestrator_pid?: number | null;
}
export type RunStatus = "running" | "stopping" | "completed" | "failed" | "incomplete" | "stopped" | "aborted";
export interface Feedback {
  reviewer: string;
  reason: string;
  log_file: string | null;
}
export type RunEvent =
  | { type: "assigned"; wp: WpId; agent: string; phase: AssignmentPhase; retry_count: number }
  | { type: "dependency_resolved"; wp: WpId; dependency: WpId; skipped: boolean }
  | { type: "feature_completed"; total_wps: number; completed_at_ms: number; duration_ms: number }
  | { type: "error"; wp: WpId; agent: string | null; message: string };
/** An event with the id chosen before it is emitted: a replay carries the same id. */
export interface Announcement {
  event_id: string;
  event: RunEvent;
}
/** `.kittify/orchestration-state.json`: pass it back as it came (its layout is the core's). */
export interface OrchestrationState {
  version: number;
  run_id: string;
  feature_slug: string;
  status: RunStatus;
  work_packages: Record<WpId, { lane: Lane; status: "pending" | "in_progress" | "done" | "failed" | "skipped"; [key: string]: unknown }>;
  outbox: Announcement[];
  [key: string]: unknown;
}
export type OrchestrationInput =
  | { input: "resume"; lanes: Record<WpId, Lane>; roster?: Roster | null; max_parallel?: number | null; orchestrator_pid?: number | null }
  | { input: "skip"; wp: WpId }
  | { input: "abort" }
  | { input: "lane_moved"; wp: WpId; lane: Lane }
  | { input: "lane_move_failed"; wp: WpId; error: string }
  | { input: "agent_started"; wp: WpId; phase: AssignmentPhase; attempt: number; pid: number | null; log_file: string }
  | { input: "agent_start_failed"; wp: WpId; phase: AssignmentPhase; attempt: number; error: string }
  /** `exit_code` null when a signal ended it; `last_line` its output's last non-empty line. */
  | { input: "agent_exited"; wp: WpId; phase: AssignmentPhase; attempt: number; exit_code: number | null; last_line: string | null }
  /** As `agent_exited`, with the worktree as the agent left it: an exit 0 whose work is not committed on the WP's branch fails. */
  | { input: "agent_exited_in_worktree"; wp: WpId; phase: AssignmentPhase; attempt: number; exit_code: number | null; last_line: string | null; worktree: { present: boolean; branch: string | null; uncommitted?: string[] } }
  | { input: "emitted"; event_ids: string[] }
  | { input: "interrupt" }
  | { input: "tick" };
export type OrchestrationAction =
  | { action: "save_state" }
  /** `to: "doing"` from planned is `implement` (it makes the worktree, from one of `base_candidates`). */
  | { action: "move_lane"; wp: WpId; from: Lane; to: Lane; agent: string | null; note: string; base_candidates: WpId[] }
  | { action: "start_agent"; wp: WpId; phase: AssignmentPhase; attempt: number; agent: string; timeout_ms: number; implementer: string | null; feedback: Feedback | null }
  /** SIGTERM, a grace period, SIGKILL; then answer `agent_exited`. */
  | { action: "stop_agent"; wp: WpId; phase: AssignmentPhase; attempt: number }
  /** Emit with these ids (`runEventDraft` gives each payload), then answer `emitted`. */
  | { action: "emit"; events: Announcement[] }
  | { action: "finish"; status: RunStatus };
export interface OrchestrationStep {
  state: OrchestrationState;
  actions: OrchestrationAction[];
  /** Call again with `{input: "tick"}` at this time (Unix ms) at the latest; null once the run is over. */
  nextWakeupMs: number | null;
}
