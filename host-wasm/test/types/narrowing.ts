// The envelope and the core's answers are unions on their tag: narrowing on it types the rest.
import {
  buildEvent,
  buildWpCreated,
  foldBoard,
  LamportClock,
  reactToAnswer,
  readBatchAnswer,
  type BatchOutcome,
  type Envelope,
  type EnvelopeOf,
  type Lane,
  type OrchestrationAction,
  type ValidationIssue,
  type WpCreatedInput,
} from "@spec-kitty/core";

/** Every event's one-line summary: each branch reads its own payload's keys. */
function summary(e: Envelope): string {
  switch (e.event_type) {
    case "WPStatusChanged": {
      const lane: Lane = e.payload.new_status;
      return `${e.payload.wp_id}: ${e.payload.previous_status} -> ${lane} by ${e.payload.changed_by}`;
    }
    case "WPCreated":
      return `${e.payload.wp_id} created, after ${e.payload.dependencies.join(", ")}`;
    case "WPAssigned":
      return `${e.payload.wp_id} to ${e.payload.agent_id} (${e.payload.phase}, try ${e.payload.retry_count})`;
    case "FeatureCreated":
      return `${e.payload.feature_slug} with ${e.payload.wp_count} WPs`;
    case "FeatureCompleted":
      return `${e.payload.feature_slug} done (${e.payload.total_duration ?? "?"})`;
    case "HistoryAdded":
      return `${e.payload.entry_type}: ${e.payload.entry_content}`;
    case "ErrorLogged":
      return `${e.payload.error_type}: ${e.payload.error_message}`;
    case "DependencyResolved":
      return `${e.payload.dependency_wp_id} ${e.payload.resolution_type} for ${e.payload.wp_id}`;
    default: {
      const none: never = e;
      return none;
    }
  }
}

const clock = new LamportClock("0123456789ab");
const context = { nodeId: "0123456789ab", teamSlug: "local", lamportClock: clock, nowMs: 1_700_000_000_000 };
const input: WpCreatedInput = { wp_id: "WP02", title: "Second", feature_slug: "001-demo" };
const created = buildWpCreated(context, input);
const events: Envelope[] = [created, buildEvent("WPStatusChanged", context, { wp_id: "WP02", previous_status: "planned", new_status: "doing" })];
for (const e of events) {
  console.log(summary(e));
  if (e.event_type === "WPStatusChanged") {
    const to: Lane = e.payload.new_status;
    console.log(to, e.project_slug ?? "no project", e.causation_id ?? "no cause");
  }
}
const onlyCreated: EnvelopeOf<"WPCreated"> | undefined = events.find((e): e is EnvelopeOf<"WPCreated"> => e.event_type === "WPCreated");
console.log(onlyCreated?.payload.title);

const board = foldBoard(events);
for (const [wp, card] of Object.entries(board.work_packages)) {
  console.log(wp, card.lane, card.history.map((item) => item.summary));
}

const answer = readBatchAnswer(429, "{}");
if (answer.kind === "too_many_requests") console.log(answer.retry_after_ms);
const outcome: BatchOutcome = reactToAnswer(answer, [{ event_id: created.event_id, retry_count: 0 }], { nowMs: 0 });
if (outcome.next.kind === "back_off") console.log(outcome.next.attempt, outcome.next.at_ms);

function describe(action: OrchestrationAction): string {
  switch (action.action) {
    case "start_agent":
      return `${action.agent} on ${action.wp} (${action.phase}, ${action.timeout_ms} ms)`;
    case "emit":
      return action.events.map((a) => a.event_id).join(", ");
    default:
      return action.action;
  }
}
console.log(describe({ action: "save_state" }));

const issues: ValidationIssue[] = [];
console.log(issues.map((issue) => `${issue.field}: ${issue.message}`));

// The clock can be freed by hand or by `using` (Symbol.dispose, declared for libs without esnext.disposable).
clock[Symbol.dispose]();
