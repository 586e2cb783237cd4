// The README's npm example (## The npm package), typed: it must compile as it is written there.
import * as os from "node:os";
import * as fs from "node:fs";
import { nodeId, LamportClock, buildWpStatusChanged, validateEvent } from "@spec-kitty/core";

const node = nodeId(os.hostname(), os.userInfo().username);
const clock = fs.existsSync("clock.json") ? LamportClock.fromJSON(fs.readFileSync("clock.json", "utf8")) : new LamportClock(node);

const context = { nodeId: node, teamSlug: "local", lamportClock: clock };
const event = buildWpStatusChanged(context, { wp_id: "WP01", previous_status: "planned", new_status: "doing" });
console.log(JSON.stringify(event));
fs.writeFileSync("clock.json", JSON.stringify(clock, null, 2));

console.log(validateEvent({ ...event, lamport_clock: -1 }));
try {
  buildWpStatusChanged(context, { wp_id: "WP1", previous_status: "planned", new_status: "doing" });
} catch (err) {
  console.log((err as Error).message);
}

// The package README's Node example.
const clock2 = new LamportClock(nodeId("my-host", "me"));
const context2 = { nodeId: nodeId("my-host", "me"), teamSlug: "local", lamportClock: clock2 };
const event2 = buildWpStatusChanged(context2, { wp_id: "WP01", previous_status: "planned", new_status: "doing" });
console.log(JSON.stringify(event2));
console.log(validateEvent(event2));
