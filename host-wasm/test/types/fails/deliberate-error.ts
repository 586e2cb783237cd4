// MUST fail tsc: after narrowing to WPCreated, the payload has no `new_status` (only WPStatusChanged's has).
// host-wasm/test/types.test.cjs asserts tsc reports exactly this error, at the marked line and column.
import type { Envelope } from "@spec-kitty/core";

export function newLane(e: Envelope): string {
  if (e.event_type === "WPCreated") {
    return e.payload.new_status; // <- the deliberate error
  }
  return "";
}
