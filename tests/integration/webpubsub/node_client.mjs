// Drives the official @azure/web-pubsub-client against the emulator; run by test_node_client.py.
// Prints one JSON object per line: {"event":"connected"|"ready"|"done"|"error", ...}.
import { WebPubSubClient } from "@azure/web-pubsub-client";

const url = process.env.WPS_CLIENT_URL;
const expected = Number(process.env.WPS_EXPECTED_GROUP_MESSAGES);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const client = new WebPubSubClient({ getClientAccessUrl: async () => url });
const groupMessages = [];
const serverMessages = [];
let connectedCount = 0;
let done = false;

const finish = async (extra) => {
  if (done) return;
  done = true;
  out({ event: "done", groupMessages, serverMessages, connectedCount, ...extra });
  await client.stop();
  process.exit(0);
};

client.on("connected", (e) => {
  connectedCount += 1;
  out({ event: "connected", connectionId: e.connectionId, userId: e.userId });
});
client.on("group-message", (e) => {
  groupMessages.push({ data: e.message.data, sequenceId: e.message.sequenceId ?? null, fromUserId: e.message.fromUserId ?? null });
  if (groupMessages.length >= expected) finish({});
});
client.on("server-message", (e) => serverMessages.push(e.message.data));

try {
  await client.start();
  await client.joinGroup("room");
  await client.sendToGroup("room", { from: "js" }, "json");
  await client.sendEvent("hello", "from js", "text");
  out({ event: "ready" });
} catch (err) {
  out({ event: "error", message: String(err && err.message ? err.message : err) });
  process.exit(1);
}
setTimeout(() => finish({ timeout: true }), 30000);
